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
