package dev.wmss.train.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/** The local launcher: torchrun's variables, prefixed output, a failing rank stops the others, so does a kill. */
class LaunchCommandTest {
    private record Run(int code, String out, String err, double seconds) {}

    private static synchronized Run launch(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        StringWriter pico = new StringWriter();
        long t0 = System.nanoTime();
        try {
            var cl = Main.commandLine();
            cl.setErr(new PrintWriter(pico));
            int code = cl.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8),
                    err.toString(StandardCharsets.UTF_8) + pico, (System.nanoTime() - t0) / 1e9);
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void ranksGetTorchrunsVariablesAndPrefixedOutput() {
        Run r = launch("launch", "--nproc", "2", "--exec", "--", "sh", "-c",
                "echo \"hello $RANK/$WORLD_SIZE local $LOCAL_RANK of $LOCAL_WORLD_SIZE at $MASTER_ADDR:$MASTER_PORT\"; echo warn >&2");
        assertEquals(0, r.code(), r.err());
        Matcher m = Pattern.compile("\\[rank 0] hello 0/2 local 0 of 2 at 127\\.0\\.0\\.1:(\\d+)").matcher(r.out());
        assertTrue(m.find(), r.out());
        assertTrue(r.out().contains("[rank 1] hello 1/2 local 1 of 2 at 127.0.0.1:" + m.group(1)), r.out());
        assertTrue(r.err().contains("[rank 0] warn") && r.err().contains("[rank 1] warn"), r.err());
        assertTrue(r.err().contains("all 2 ranks finished"), r.err());
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void nodeRankOffsetsTheGlobalRanks() {
        Run r = launch("launch", "--nnodes", "2", "--node-rank", "1", "--nproc", "2", "--master-port", "29999",
                "--exec", "--", "sh", "-c", "echo \"$RANK $LOCAL_RANK $GROUP_RANK $WORLD_SIZE $MASTER_PORT\"");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("[rank 2] 2 0 1 4 29999") && r.out().contains("[rank 3] 3 1 1 4 29999"), r.out());
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aFailingRankStopsTheOthersAndSetsTheExitCode() {
        Run r = launch("launch", "--nproc", "2", "--grace", "5", "--exec", "--", "sh", "-c",
                "if [ \"$RANK\" = 1 ]; then sleep 0.3; echo giving up >&2; exit 3; fi; sleep 60; echo rank 0 survived");
        assertEquals(3, r.code(), r.err());
        assertTrue(r.err().contains("[rank 1] giving up") && r.err().contains("rank 1 exited with code 3"), r.err());
        assertFalse(r.out().contains("survived"), r.out());
        assertTrue(r.seconds() < 15, "took " + r.seconds() + " s");
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void ranksAreJvmsOfThisApplication() {
        Run r = launch("launch", "--nproc", "2", "--jvm-arg", "-Xmx64m", "--jvm-arg", "-XX:TieredStopAtLevel=1",
                "--", "--version");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("[rank 0] wmss-native") && r.out().contains("[rank 1] wmss-native"), r.out());
    }

    @Test
    void badOptionsAreUsageErrors() {
        Run r = launch("launch", "--nproc", "0", "--exec", "--", "true");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--nproc must be >= 1"), r.err());
        r = launch("launch", "--nproc", "1", "--nnodes", "2", "--node-rank", "2", "--exec", "--", "true");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("--node-rank"), r.err());
    }

    /** A launcher killed as by Ctrl-C (SIGTERM here) takes its ranks down. */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void killingTheLauncherStopsEveryRank() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process launcher = new ProcessBuilder(java, "-Xmx64m", "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "launch", "--nproc", "2", "--grace", "5",
                "--exec", "--", "sh", "-c", "echo pid $$; exec sleep 60").redirectErrorStream(true).start();
        List<Long> pids = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(launcher.getInputStream(), StandardCharsets.UTF_8))) {
            Pattern pid = Pattern.compile("\\[rank \\d] pid (\\d+)");
            for (String line; pids.size() < 2 && (line = r.readLine()) != null; ) {
                Matcher m = pid.matcher(line);
                if (m.find()) pids.add(Long.parseLong(m.group(1)));
            }
            assertEquals(2, pids.size());
            launcher.destroy();
            assertTrue(launcher.waitFor(20, TimeUnit.SECONDS), "the launcher stops");
        } finally {
            launcher.destroyForcibly();
        }
        for (long p : pids) {
            Optional<ProcessHandle> h = ProcessHandle.of(p);
            if (h.isPresent()) h.get().onExit().get(10, TimeUnit.SECONDS);
            assertFalse(ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false), "rank process " + p + " stopped");
        }
    }

    /**
     * A launcher killed by SIGKILL (no chance to stop anything): its ranks notice within seconds (the parent-death
     * signal the launcher's variable arms), stop at the same step, and rank 0 checkpoints it.
     */
    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void ranksStopAndCheckpointWhenTheLauncherIsKilledOutright(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        Path m0 = dev.wmss.train.loop.TrainerTest.init(tmp.resolve("m0"), 1), data = DataParallelRunTest.data(tmp, 25);
        Path out = tmp.resolve("run"), log = tmp.resolve("launch.log");
        List<String> cmd = ProcessEndTest.java(Main.class, "launch", "--nproc", "2", "--", "sft", "--model", m0.toString(),
                "--data", data.toString(), "--out", out.toString(), "--batch", "3", "--epochs", "100000", "--max-len", "96",
                "--log-every", "1", "--checkpoint-every", "0");
        Process launcher = ProcessEndTest.clean(new ProcessBuilder(cmd)).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        List<ProcessHandle> ranks = new ArrayList<>();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
            while (ProcessEndTest.lines(out.resolve("metrics.jsonl")) < 3) {
                assertTrue(System.nanoTime() < deadline && launcher.isAlive(), "training never started\n"
                        + java.nio.file.Files.readString(log));
                Thread.sleep(100);
            }
            launcher.descendants().filter(h -> h.info().command().orElse("").endsWith("java")).forEach(ranks::add);
            assertEquals(2, ranks.size(), "two rank JVMs");
            launcher.destroyForcibly().waitFor(); // SIGKILL
            long t0 = System.nanoTime();
            for (ProcessHandle h : ranks) {
                try {
                    h.onExit().get(30, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    fail("rank " + h.pid() + " still runs 30 s after the launcher was killed\n" + java.nio.file.Files.readString(log));
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            System.out.printf("ranks stopped %.1f s after the launcher's SIGKILL%n", seconds);
            assertTrue(seconds < 15, "the ranks noticed within seconds: " + seconds);
            assertTrue(ProcessEndTest.hasCheckpoint(out), "rank 0 checkpointed the step they stopped at");
        } finally {
            launcher.destroyForcibly();
            for (ProcessHandle h : ranks) h.destroyForcibly();
        }
    }
}
