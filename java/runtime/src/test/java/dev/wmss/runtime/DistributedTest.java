package dev.wmss.runtime;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.ffi.NativeLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Data parallel on c10d's Gloo over loopback: two ranks as two JVMs ({@link DistWorker}), each checking its
 * results against what it computes alone; a rank that exits or hangs makes the other fail within the timeout.
 * Every child is killed when its test ends or times out, so nothing can hang the build.
 */
class DistributedTest {
    static final Duration CHILD_LIMIT = Duration.ofSeconds(90);

    record Rank(Process process, Path log) {
        String output() throws IOException {
            return Files.readString(log);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Starts WORLD_SIZE = 2 JVMs running DistWorker with args, torchrun's variables set. */
    static List<Rank> spawn(Path dir, Map<String, String> extraEnv, String... args) throws IOException {
        return spawn(dir, 2, DistWorker.class, extraEnv, args);
    }

    /** Starts world JVMs running main with args, torchrun's variables set; rank r's output in dir/rank{r}.log. */
    static List<Rank> spawn(Path dir, int world, Class<?> main, Map<String, String> extraEnv, String... args)
            throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        int port = freePort();
        List<Rank> ranks = new ArrayList<>();
        for (int r = 0; r < world; r++) {
            List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                    "-XX:TieredStopAtLevel=1", "-Dwmss.library.path=" + NativeLoader.libraryDirectory(),
                    "-cp", System.getProperty("java.class.path"), main.getName()));
            cmd.addAll(List.of(args));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            Path log = dir.resolve("rank" + r + ".log");
            pb.redirectOutput(log.toFile());
            Map<String, String> env = pb.environment();
            env.put("RANK", String.valueOf(r));
            env.put("LOCAL_RANK", String.valueOf(r));
            env.put("WORLD_SIZE", String.valueOf(world));
            env.put("MASTER_ADDR", "127.0.0.1");
            env.put("MASTER_PORT", String.valueOf(port));
            env.put("OMP_NUM_THREADS", "1");
            env.putAll(extraEnv);
            ranks.add(new Rank(pb.start(), log));
        }
        return ranks;
    }

    /** Waits for a rank (killing it past the limit) and returns its exit code. */
    static int await(Rank r, Duration limit) throws InterruptedException {
        if (!r.process().waitFor(limit.toMillis(), TimeUnit.MILLISECONDS)) {
            r.process().destroyForcibly().waitFor();
            return -1;
        }
        return r.process().exitValue();
    }

    static void killAll(List<Rank> ranks) throws InterruptedException {
        for (Rank r : ranks) r.process().destroyForcibly().waitFor();
    }

    static String outputs(List<Rank> ranks) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < ranks.size(); i++) b.append("--- rank ").append(i).append(":\n").append(ranks.get(i).output());
        return b.toString();
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void twoRanksCollectivesAndGradientsMatchTheLocalComputation(@org.junit.jupiter.api.io.TempDir Path tmp)
            throws Exception {
        Path model = TorchModelTest.model("tiny-qwen3");
        List<Rank> ranks = spawn(tmp, Map.of(), "collectives", model.toString());
        try {
            int c0 = await(ranks.get(0), CHILD_LIMIT), c1 = await(ranks.get(1), CHILD_LIMIT);
            String out = outputs(ranks);
            assertEquals(0, c0, out);
            assertEquals(0, c1, out);
            for (Rank r : ranks) {
                String o = r.output();
                assertTrue(o.contains("vectors ok") && o.contains("gradients ok") && o.contains("wdjt ok") && o.contains("done"), out);
            }
        } finally {
            killAll(ranks);
        }
    }

    static final Pattern FAILED_AFTER = Pattern.compile("collective failed after (\\d+) ms: (.*)");

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void aRankThatExitsMakesTheOtherFailAtOnce(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        List<Rank> ranks = spawn(tmp, Map.of(ProcessGroup.TIMEOUT_ENV, "30"), "dies");
        try {
            assertEquals(0, await(ranks.get(1), CHILD_LIMIT), outputs(ranks));
            assertEquals(0, await(ranks.get(0), CHILD_LIMIT), outputs(ranks));
            Matcher m = FAILED_AFTER.matcher(ranks.get(0).output());
            assertTrue(m.find(), outputs(ranks));
            assertTrue(Long.parseLong(m.group(1)) < 10_000, "a closed connection is seen long before the 30 s timeout: " + m.group());
            assertTrue(m.group(2).contains("rank 0 of 2") && m.group(2).contains("another rank exited"), m.group(2));
        } finally {
            killAll(ranks);
        }
    }

    @Test
    @Timeout(value = 90, unit = TimeUnit.SECONDS)
    void aRankThatHangsMakesTheOtherFailWithinTheTimeout(@org.junit.jupiter.api.io.TempDir Path tmp) throws Exception {
        List<Rank> ranks = spawn(tmp, Map.of(ProcessGroup.TIMEOUT_ENV, "2"), "hangs");
        try {
            assertEquals(0, await(ranks.get(0), CHILD_LIMIT), outputs(ranks));
            Matcher m = FAILED_AFTER.matcher(ranks.get(0).output());
            assertTrue(m.find(), outputs(ranks));
            long ms = Long.parseLong(m.group(1));
            assertTrue(ms >= 1_500 && ms < 15_000, "fails after about the 2 s timeout: " + m.group());
            assertTrue(m.group(2).toLowerCase().contains("timed out"), m.group(2));
            assertTrue(ranks.get(1).process().isAlive(), "the hung rank is still there (the launcher stops it)");
        } finally {
            killAll(ranks);
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void ranksThatNeverMeetFailWithinTheTimeout() throws Exception {
        long t0 = System.nanoTime();
        DistributedException e = assertThrows(DistributedException.class, () -> ProcessGroup.create(
                ProcessGroup.Backend.GLOO, "127.0.0.1", freePort(), 0, 2, 0, Duration.ofSeconds(1)));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertTrue(seconds < 20, "took " + seconds + " s");
        assertTrue(e.getMessage().contains("could not form the gloo group") && e.getMessage().contains("MASTER_PORT"),
                e.getMessage());
        assertEquals(dev.wmss.kernels.error.Status.DISTRIBUTED, e.status(), "its own status, not INTERNAL");
        assertEquals(DistributedException.NATIVE_CODE, dev.wmss.kernels.error.Status.DISTRIBUTED.code());
        // the runtime maps its own code (the kernels' Status knows the code, not the runtime's exception type)
        assertThrows(DistributedException.class, () -> WmssTorch.check(DistributedException.NATIVE_CODE));
        assertEquals(dev.wmss.kernels.error.Status.DISTRIBUTED,
                dev.wmss.kernels.error.Status.exception(DistributedException.NATIVE_CODE, "x").status());
    }

    @Test
    void aWorldOfOneIsTheIdentity() throws Exception {
        try (ProcessGroup pg = ProcessGroup.single()) {
            assertEquals(0, pg.rank());
            assertEquals(1, pg.worldSize());
            assertTrue(pg.isRoot());
            double[] d = {1.5, -2};
            pg.allReduce(d, ProcessGroup.Op.AVG);
            assertArrayEquals(new double[]{1.5, -2}, d);
            assertEquals(7, pg.sum(7L));
            float[][] g = pg.allGather(new float[]{1, 2});
            assertArrayEquals(new float[]{1, 2}, g[0]);
            assertArrayEquals(new byte[]{7}, pg.allGather(new byte[]{7})[0]);
            assertArrayEquals(new byte[]{4, 2}, pg.broadcastBytes(new byte[]{4, 2}, 0));
            pg.barrier();
            try (TorchModel m = TorchModel.load(TorchModelTest.model("tiny-qwen3"));
                 GradientSync sync = pg.gradientSync(m, 0, true)) {
                assertEquals(m.parameterCount(), sync.elements());
                pg.broadcastParameters(m, 0);
                sync.prepare();
                sync.sync(ProcessGroup.Op.SUM);
                pg.allReduceGradients(m, ProcessGroup.Op.AVG);
            }
        }
    }

    /** The sweep of an armed sync keeps gradient added after backward (lost without it: the hooks moved it out). */
    @Test
    void gradientAddedAfterAnOverlappedBackwardIsReduced() throws Exception {
        Path dir = TorchModelTest.model("tiny-qwen3");
        List<String> names = DistWorker.names(dir);
        try (ProcessGroup pg = ProcessGroup.single(); TorchModel ref = TorchModel.load(dir); TorchModel m = TorchModel.load(dir);
             GradientSync sync = pg.gradientSync(m, 4096, true)) {
            DistWorker.microBatch(ref, 0, 0);
            DistWorker.addLate(ref);
            sync.prepare();
            DistWorker.microBatch(m, 0, 0);
            DistWorker.addLate(m);
            sync.sync(ProcessGroup.Op.SUM);
            assertTrue(sync.overlappedBuckets() > 0, "buckets left during backward");
            for (String n : names) {
                assertArrayEquals(ref.parameter(n)[1].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT),
                        m.parameter(n)[1].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT), 1e-6f, n);
            }
        }
    }

    @Test
    void badArgumentsAreTypedErrors() {
        assertTrue(ProcessGroup.Backend.GLOO.available());
        try (ProcessGroup pg = ProcessGroup.single()) {
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> pg.broadcast(new long[1], 1));
            assertTrue(e.getMessage().contains("root 1 outside the group"), e.getMessage());
            e = assertThrows(InvalidArgumentException.class, () -> pg.allReduce(new long[1], ProcessGroup.Op.AVG));
            assertTrue(e.getMessage().contains("floating type"), e.getMessage());
            assertThrows(InvalidArgumentException.class, () -> pg.broadcastBytes(null, 0));
            pg.barrier(); // argument errors do not break the group
        }
        if (!ProcessGroup.Backend.NCCL.available()) {
            var e = assertThrows(dev.wmss.kernels.error.BackendUnavailableException.class, () -> ProcessGroup.create(
                    ProcessGroup.Backend.NCCL, null, 0, 0, 1, 0, Duration.ofSeconds(5)));
            assertTrue(e.getMessage().contains("built without NCCL"), e.getMessage());
        }
        var e = assertThrows(InvalidArgumentException.class, () -> ProcessGroup.create(
                ProcessGroup.Backend.GLOO, null, 0, 3, 2, 0, Duration.ofSeconds(5)));
        assertTrue(e.getMessage().contains("rank 3 outside world size 2"), e.getMessage());
        ProcessGroup closed = ProcessGroup.single();
        closed.close();
        closed.close();
        assertThrows(InvalidArgumentException.class, closed::barrier);
    }
}
