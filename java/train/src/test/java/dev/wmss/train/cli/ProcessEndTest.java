package dev.wmss.train.cli;

import dev.wmss.kernels.Backend;
import dev.wmss.train.loop.TrainerTest;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * How the application's process ends: signals at every point of start-up end it with their status even when a
 * native library's exit-time destructor never returns ({@link HangingExitMain}); a signal during training
 * checkpoints first; Ctrl-C on a terminal (a pseudo-terminal, with the progress bar drawn) does too.
 */
class ProcessEndTest {
    static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();

    /** A JVM of this application's classes (main class given), without a launcher's or CI's variables. */
    static List<String> java(Class<?> main, String... args) {
        List<String> cmd = new ArrayList<>(List.of(JAVA, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                "-XX:TieredStopAtLevel=1", "-Dwmss.library.path=" + Backend.libraryDirectory(), "-cp",
                System.getProperty("java.class.path"), main.getName()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    static ProcessBuilder clean(ProcessBuilder pb) {
        for (String k : List.of("CI", "RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT",
                dev.wmss.train.loop.Shutdown.LAUNCHER_PID_ENV)) {
            pb.environment().remove(k);
        }
        pb.environment().put("OMP_NUM_THREADS", "1");
        return pb;
    }

    static void kill(String signal, long pid) throws Exception {
        assertEquals(0, new ProcessBuilder("kill", "-s", signal, String.valueOf(pid)).inheritIO().start().waitFor());
    }

    static String[] sft(Path model, Path data, Path out) {
        return new String[]{"sft", "--model", model.toString(), "--data", data.toString(), "--out", out.toString(),
                "--batch", "2", "--epochs", "1000", "--max-len", "96", "--log-every", "1", "--checkpoint-every", "0"};
    }

    static boolean hasCheckpoint(Path out) throws IOException {
        Path root = out.resolve("checkpoints");
        if (!Files.isDirectory(root)) return false;
        try (Stream<Path> s = Files.list(root)) {
            return s.anyMatch(p -> p.getFileName().toString().matches("step-\\d+") && Files.exists(p.resolve("state.json")));
        }
    }

    static long lines(Path file) throws IOException {
        return Files.exists(file) ? Files.readAllLines(file).size() : 0;
    }

    @Test
    @Timeout(value = 400, unit = TimeUnit.SECONDS)
    void signalsAtEveryPointOfStartUpEndTheProcessWithTheirStatus(@TempDir Path tmp) throws Exception {
        Path m0 = TrainerTest.init(tmp.resolve("m0"), 1), data = DataParallelRunTest.data(tmp, 40);
        long[] delays = {0, 100, 250, 450, 700, 1000, 1400, 1900, 2600, 3500};
        List<String> failures = new ArrayList<>();
        for (int k = 0; k <= delays.length; k++) {
            boolean interrupt = k % 2 == 0;
            Path out = tmp.resolve("run-" + k), log = tmp.resolve("log-" + k);
            Process p = clean(new ProcessBuilder(java(HangingExitMain.class, sft(m0, data, out))))
                    .redirectErrorStream(true).redirectOutput(log.toFile()).start();
            String when;
            if (k < delays.length) {
                Thread.sleep(delays[k]);
                when = delays[k] + " ms after start";
            } else { // the last one: training runs
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
                while (lines(out.resolve("metrics.jsonl")) < 2 && p.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
                when = "during training";
            }
            kill(interrupt ? "INT" : "TERM", p.pid());
            long t0 = System.nanoTime();
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                failures.add("SIG" + (interrupt ? "INT" : "TERM") + " " + when + ": still running 60 s later (hung in exit?)\n"
                        + Files.readString(log));
                p.destroyForcibly().waitFor();
                continue;
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            int want = interrupt ? 130 : 143;
            if (p.exitValue() != want) {
                failures.add("SIG" + (interrupt ? "INT" : "TERM") + " " + when + ": exit " + p.exitValue() + ", not " + want
                        + "\n" + Files.readString(log));
            }
            System.out.printf("SIG%s %s: exit %d after %.1f s%n", interrupt ? "INT" : "TERM", when, p.exitValue(), seconds);
            if (k == delays.length) {
                String text = Files.readString(log);
                if (!hasCheckpoint(out) || !text.contains("checkpoint saved at step")) {
                    failures.add("a signal during training: no checkpoint\n" + text);
                }
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n\n", failures));
    }

    /** Runs COMMAND on a pseudo-terminal, types Ctrl-C once MARKER is printed, prints what it got and "EXIT n". */
    static final String PTY = """
            import os, pty, select, sys, time
            marker, argv = sys.argv[1].encode(), sys.argv[2:]
            pid, fd = pty.fork()
            if pid == 0:
                os.execvp(argv[0], argv)
            buf, sent, deadline = b"", False, time.time() + 150
            while time.time() < deadline:
                r, _, _ = select.select([fd], [], [], 0.5)
                if not r:
                    continue
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                buf += data
                if not sent and marker in buf:
                    os.write(fd, b"\\x03")
                    sent = True
            else:
                os.kill(pid, 9)
            _, st = os.waitpid(pid, 0)
            sys.stdout.write(buf.decode("utf-8", "replace"))
            sys.stdout.write("\\nEXIT %s\\n" % (os.WEXITSTATUS(st) if os.WIFEXITED(st) else "by signal %d" % os.WTERMSIG(st)))
            """;

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void ctrlCOnATerminalCheckpointsTheStage(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(new ProcessBuilder("python3", "-c", "import pty").start().waitFor() == 0, "no python3 with pty");
        Path m0 = TrainerTest.init(tmp.resolve("m0"), 1), data = DataParallelRunTest.data(tmp, 200), out = tmp.resolve("run");
        Path script = Files.writeString(tmp.resolve("ctrl_c.py"), PTY);
        List<String> cmd = new ArrayList<>(List.of("python3", script.toString(), "sft step 2/"));
        cmd.addAll(java(Main.class, "run", "--base", m0.toString(), "--train", data.toString(), "--out", out.toString(), "--batch", "2", "--max-len", "96", "--log-every", "1", "--checkpoint-every", "0"));
        Process p = clean(new ProcessBuilder(cmd)).redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertTrue(text.contains("%"), "the progress bar is drawn on a terminal: " + text);
        assertTrue(text.contains("EXIT 130"), "Ctrl-C ends the process normally, with 130: " + text);
        assertTrue(text.contains("checkpoint saved at step") && hasCheckpoint(out.resolve("m1")), "a checkpoint: " + text);
        assertTrue(Files.isRegularFile(out.resolve("m1/elapsed.json")), "the stage's time so far is kept");
    }
}
