package dev.wmss.train.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * --restart replaces what wmss-native wrote and nothing else (an audit: a README in strong/, notes in a stage, a plot
 * of the user's and a checkpoint-like folder were deleted with the run; a folder that was no run, holding a run.json
 * and a metrics.jsonl of something else, was emptied without a word).
 */
class RestartTest {
    static final String DATA = OutputLockTest.DATA + "{\"prompt\": \"3 + 3 = \", \"response\": \"6\"}\n";

    @Test
    void theUsersFilesInsideARunSurviveItsRestart(@TempDir Path tmp) throws Exception {
        Path m0 = RunCommandTest.model(tmp.resolve("m0"), 1), data = Files.writeString(tmp.resolve("d.jsonl"), DATA);
        Path out = tmp.resolve("sft");
        String[] sft = {"sft", "--model", m0.toString(), "--data", data.toString(), "--out", out.toString(), "--batch", "1",
                "--checkpoint-every", "1", "--keep-checkpoints", "5"};
        assertEquals(0, CliRun.of(sft).code());
        List<Path> mine = List.of(out.resolve("strong/README.md"), out.resolve("checkpoints/mine.txt"),
                out.resolve("checkpoints/step-00000999/notes.txt"), out.resolve("notes.txt"));
        for (Path p : mine) {
            Files.createDirectories(p.getParent());
            Files.writeString(p, "the user's");
        }
        CliRun again = CliRun.of(concat(sft, "--restart"));
        assertEquals(0, again.code(), again.err());
        for (Path p : mine) assertEquals("the user's", Files.readString(p), p + " kept");
        assertTrue(Files.exists(out.resolve("strong/model.safetensors")) && Files.exists(out.resolve("metrics.jsonl")));
        assertEquals(3, Files.readAllLines(out.resolve("metrics.jsonl")).size(), "the new run's steps only");

        // a folder that is no run: nothing deleted, an error naming the file
        Path other = Files.createDirectories(tmp.resolve("other"));
        Files.writeString(other.resolve("run.json"), "{\"experiment\": \"mine\"}\n");
        Files.writeString(other.resolve("metrics.jsonl"), "epoch,loss\n1,0.5\n");
        CliRun refused = CliRun.of("sft", "--model", m0.toString(), "--data", data.toString(), "--out", other.toString(),
                "--restart");
        assertEquals(1, refused.code());
        assertTrue(refused.err().contains("was not written by wmss-native") && refused.err().contains("--restart replaces"
                + " only a wmss-native run"), refused.err());
        assertEquals("{\"experiment\": \"mine\"}\n", Files.readString(other.resolve("run.json")));
        assertEquals("epoch,loss\n1,0.5\n", Files.readString(other.resolve("metrics.jsonl")));
    }

    @Test
    void theUsersFilesInsideTheMethodsStagesSurviveItsRestart(@TempDir Path tmp) throws Exception {
        Path m0 = RunCommandTest.model(tmp.resolve("m0"), 1), data = Files.writeString(tmp.resolve("d.jsonl"), DATA);
        Path out = tmp.resolve("run");
        String[] run = {"run", "--base", m0.toString(), "--train", data.toString(), "--eval", "none", "--out", out.toString(),
                "--batch", "2"};
        assertEquals(0, CliRun.of(run).code());
        List<Path> mine = List.of(out.resolve("final/README.md"), out.resolve("m1/notes.txt"), out.resolve("plots/mine.png"),
                out.resolve("wdds/mine.jsonl"), out.resolve("mine.txt"));
        for (Path p : mine) {
            Files.createDirectories(p.getParent());
            Files.writeString(p, "the user's");
        }
        CliRun again = CliRun.of(concat(run, "--restart"));
        assertEquals(0, again.code(), again.err());
        for (Path p : mine) assertEquals("the user's", Files.readString(p), p + " kept");
        assertTrue(Files.exists(out.resolve("final/model.safetensors")) && Files.exists(out.resolve("plots/loss.png")));
    }

    static String[] concat(String[] a, String... b) {
        String[] all = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }
}
