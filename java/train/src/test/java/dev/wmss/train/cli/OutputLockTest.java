package dev.wmss.train.cli;

import dev.wmss.train.loop.OutputLock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * One writer per --out (an audit: two processes writing one --out both exited 0, one run's result silently replacing
 * the other's): a command given an output another process is writing is refused, naming it; the lock goes with its
 * holder however it ends (kill -9 included), so a killed run leaves nothing stale; a command that fails before
 * writing leaves no directory behind.
 */
class OutputLockTest {
    static final String DATA = "{\"prompt\": \"1 + 1 = \", \"response\": \"2\"}\n{\"prompt\": \"2 + 2 = \", \"response\": \"4\"}\n";

    @Test
    void aSecondWriterOfTheSameOutIsRefusedUntilTheFirstEndsEvenByKill9(@TempDir Path tmp) throws Exception {
        Path m0 = RunCommandTest.model(tmp.resolve("m0"), 1), data = Files.writeString(tmp.resolve("d.jsonl"), DATA);
        Path out = tmp.resolve("run");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process holder = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), HoldLockMain.class.getName(),
                out.toString()).redirectErrorStream(true).start();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(holder.getInputStream()))) {
            assertEquals("held", r.readLine(), "the other process took the lock");
            List<String[]> commands = List.of(
                    new String[]{"sft", "--model", m0.toString(), "--data", data.toString(), "--out", out.toString()},
                    new String[]{"export", "--model", m0.toString(), "--out", out.toString()},
                    new String[]{"run", "--base", m0.toString(), "--train", data.toString(), "--eval", "none", "--out", out.toString()},
                    new String[]{"experiment", "--quick", "--out", out.toString()});
            for (String[] c : commands) {
                CliRun refused = CliRun.of(c);
                assertEquals(1, refused.code(), c[0] + ": " + refused.err());
                assertTrue(refused.err().contains("--out " + out + " is being written by another wmss-native process (pid "
                        + holder.pid()), c[0] + ": " + refused.err());
            }
            assertFalse(Files.exists(out.resolve("train.json")) || Files.exists(out.resolve("model.safetensors")), "nothing written");
            holder.destroyForcibly(); // kill -9: the system releases the lock
            assertTrue(holder.waitFor(30, TimeUnit.SECONDS));
        }
        CliRun after = CliRun.of("export", "--model", m0.toString(), "--out", out.toString());
        assertEquals(0, after.code(), after.err());
        assertTrue(Files.exists(out.resolve("model.safetensors")));
        assertFalse(Files.exists(OutputLock.fileOf(out, true)), "the lock file goes with a normal end");
    }

    /**
     * Outputs nest (an audit: `sft --out RUN/control --restart` beside a live `run --out RUN` deleted the live stage's
     * checkpoints and metrics; `export --out RUN/final` went through): an --out inside, or around, an output another
     * process writes is refused, naming it; once the holder ends both go through.
     */
    @Test
    void anOutputInsideOrAroundOneAnotherProcessWritesIsRefused(@TempDir Path tmp) throws Exception {
        Path m0 = RunCommandTest.model(tmp.resolve("m0"), 1), data = Files.writeString(tmp.resolve("d.jsonl"), DATA);
        Path run = tmp.resolve("run"), inner = tmp.resolve("outer/live");
        Files.createDirectories(run.resolve("control"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<Process> holders = List.of(
                new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), HoldLockMain.class.getName(),
                        run.toString()).redirectErrorStream(true).start(),
                new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), HoldLockMain.class.getName(),
                        inner.toString()).redirectErrorStream(true).start());
        try {
            for (Process h : holders) {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(h.getInputStream()))) {
                    assertEquals("held", r.readLine());
                }
            }
            CliRun stage = CliRun.of("sft", "--model", m0.toString(), "--data", data.toString(), "--out",
                    run.resolve("control").toString(), "--restart");
            assertEquals(1, stage.code(), stage.err());
            assertTrue(stage.err().contains("is inside " + run.toRealPath() + ", which another wmss-native process is"
                    + " writing (pid " + holders.get(0).pid()), stage.err());
            CliRun export = CliRun.of("export", "--model", m0.toString(), "--out", run.resolve("final").toString());
            assertEquals(1, export.code(), export.err());
            assertFalse(Files.exists(run.resolve("final")), "refused before writing");
            CliRun entropy = CliRun.of("entropy", "--model", m0.toString(), "--data", data.toString(), "--out",
                    run.resolve("h.jsonl").toString());
            assertEquals(1, entropy.code(), "a file output inside: " + entropy.err());
            CliRun around = CliRun.of("export", "--model", m0.toString(), "--out", tmp.resolve("outer").toString());
            assertEquals(1, around.code(), around.err());
            assertTrue(around.err().contains("holds " + inner.toRealPath() + ", which another wmss-native process is"
                    + " writing (pid " + holders.get(1).pid()), around.err());
            assertFalse(Files.exists(tmp.resolve("outer/model.safetensors")));
        } finally {
            for (Process h : holders) {
                h.destroyForcibly();
                h.waitFor(30, TimeUnit.SECONDS);
            }
        }
        assertEquals(0, CliRun.of("export", "--model", m0.toString(), "--out", run.resolve("final").toString()).code());
        assertEquals(0, CliRun.of("export", "--model", m0.toString(), "--out", tmp.resolve("outer").toString()).code());
    }

    @Test
    void inOneProcessTheSecondWriterIsRefusedAndAFailedStartLeavesNoDirectory(@TempDir Path tmp) {
        Path m0 = RunCommandTest.model(tmp.resolve("m0"), 1), out = tmp.resolve("out");
        try (OutputLock held = OutputLock.acquire(out, true, "--out")) {
            CliRun refused = CliRun.of("export", "--model", m0.toString(), "--out", out.toString());
            assertEquals(1, refused.code());
            assertTrue(refused.err().contains("is being written by another wmss-native process (pid "
                    + ProcessHandle.current().pid()), refused.err());
        }
        assertFalse(Files.exists(out), "the lock's directory, created for it, goes when nothing else was written");
        CliRun bad = CliRun.of("export", "--model", tmp.resolve("absent").toString(), "--out", out.toString());
        assertEquals(1, bad.code());
        assertFalse(Files.exists(out), "a command that fails before writing leaves no directory: " + bad.err());
        // file outputs lock beside the file
        assertEquals(tmp.resolve(".h.jsonl.wmss.lock"), OutputLock.fileOf(tmp.resolve("h.jsonl"), false));
    }
}
