package dev.wmss.train.cli;

import dev.wmss.train.loop.TrainerTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * No dead ends (an audit: a start that failed on a bad model left run.json / train.json behind, after which --resume
 * said "no checkpoint" and a fresh start "already holds a run"): a run leaves files only once its inputs are known
 * good, a directory holding a run without a usable checkpoint says what to do, and --restart replaces it. Config
 * values and data lines that would train on something else than they say are refused where they are read, naming the
 * key: rms_norm_eps and rope_theta not positive, a key given twice, --max-len beyond the model's positions.
 */
class FailedStartTest {
    static final String DATA = "{\"prompt\": \"1 + 1 = \", \"response\": \"2\"}\n{\"prompt\": \"2 + 2 = \", \"response\": \"4\"}\n";

    /** A saved tiny model whose config.json gives key the value text given (replacing the one saved). */
    static Path withConfig(Path tmp, String name, String key, String value) throws Exception {
        Path m = TrainerTest.init(tmp.resolve(name), 1);
        String c = Files.readString(m.resolve("config.json"));
        String changed = c.replaceFirst("\"" + key + "\": [^,\\n}]+", java.util.regex.Matcher.quoteReplacement("\"" + key + "\": " + value));
        assertNotEquals(c, changed, key + " in " + c);
        Files.writeString(m.resolve("config.json"), changed);
        return m;
    }

    static CliRun sft(Path model, Path data, Path out, String... more) {
        String[] a = {"sft", "--model", model.toString(), "--data", data.toString(), "--out", out.toString(), "--batch", "2",
                "--max-len", "32", "--checkpoint-every", "0"};
        String[] all = java.util.Arrays.copyOf(a, a.length + more.length);
        System.arraycopy(more, 0, all, a.length, more.length);
        return CliRun.of(all);
    }

    @Test
    void badConfigValuesAreRefusedNamingTheKeyAndLeaveNoRunBehind(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("d.jsonl"), DATA), out = tmp.resolve("run");
        String[][] cases = {
                {"rms_norm_eps", "-1", "rms_norm_eps must be a positive number, got -1"},
                {"rms_norm_eps", "0", "rms_norm_eps must be a positive number, got 0"},
                {"rope_theta", "0", "rope_theta must be a positive number, got 0"},
                {"vocab_size", "259, \"vocab_size\": 300", "the key \"vocab_size\" appears twice in one object"},
                {"hidden_size", "-32", "hidden_size must be >= 1, got -32"}};
        int k = 0;
        for (String[] c : cases) {
            Path bad = withConfig(tmp, "bad-" + k++, c[0], c[1]);
            CliRun r = sft(bad, data, out);
            assertEquals(1, r.code(), c[1]);
            assertTrue(r.err().contains(bad.resolve("config.json").toString()) && r.err().contains(c[2]), c[1] + ": " + r.err());
            assertFalse(r.err().contains("WMSS_FLAG"), r.err());
            assertFalse(Files.exists(out), c[1] + ": a start that failed on its inputs leaves no run behind");
        }
        // the same --out then takes a good model at once: no "already holds a run", no --resume dead end
        Path good = TrainerTest.init(tmp.resolve("good"), 1);
        CliRun ok = sft(good, data, out);
        assertEquals(0, ok.code(), ok.err());
        // --max-len beyond the model's positions
        Path short_ = withConfig(tmp, "short", "max_position_embeddings", "16");
        CliRun tooLong = sft(short_, data, tmp.resolve("other"));
        assertEquals(1, tooLong.code());
        assertTrue(tooLong.err().contains("--max-len 32 is above max_position_embeddings 16 of " + short_.resolve("config.json")),
                tooLong.err());
        // a data line with a key twice
        Path twice = Files.writeString(tmp.resolve("twice.jsonl"), "{\"prompt\": \"a\", \"response\": \"b\", \"response\": \"c\"}\n");
        CliRun dup = sft(good, twice, tmp.resolve("dup"));
        assertEquals(1, dup.code());
        assertTrue(dup.err().contains("twice.jsonl:1") && dup.err().contains("the key \"response\" appears twice"), dup.err());
    }

    @Test
    void aRunWithoutAUsableCheckpointSaysWhatToDoAndRestartReplacesIt(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("d.jsonl"), DATA), m0 = TrainerTest.init(tmp.resolve("m0"), 1);
        Path out = tmp.resolve("run");
        assertEquals(0, sft(m0, data, out).code());
        // what a run stopped before its first checkpoint leaves: its records, no checkpoint, no final model
        dev.wmss.train.loop.Checkpointer.deleteTree(out.resolve("strong"));
        Files.delete(out.resolve("finished.json"));
        CliRun fresh = sft(m0, data, out);
        assertEquals(1, fresh.code());
        assertTrue(fresh.err().contains("already holds a run") && fresh.err().contains("--restart"), fresh.err());
        CliRun resume = sft(m0, data, out, "--resume");
        assertEquals(1, resume.code());
        assertTrue(resume.err().contains("no checkpoint") && resume.err().contains("--restart replaces the run in " + out),
                resume.err());
        Files.writeString(out.resolve("notes.txt"), "mine");
        CliRun restart = sft(m0, data, out, "--restart");
        assertEquals(0, restart.code(), restart.err());
        assertTrue(Files.exists(out.resolve("strong/model.safetensors")) && Files.exists(out.resolve("finished.json")));
        assertEquals("mine", Files.readString(out.resolve("notes.txt")), "--restart deletes the run's files only");
        assertEquals(1, sft(m0, data, out, "--restart", "--resume").code());
    }

    @Test
    void runWithABadBaseLeavesNoRunJson(@TempDir Path tmp) throws Exception {
        Path data = Files.writeString(tmp.resolve("d.jsonl"), DATA), out = tmp.resolve("run");
        Path bad = withConfig(tmp, "bad", "rms_norm_eps", "-1");
        String[] args = {"run", "--base", bad.toString(), "--train", data.toString(), "--eval", "none", "--out",
                out.toString(), "--batch", "2", "--max-len", "32"};
        CliRun r = CliRun.of(args);
        assertEquals(1, r.code());
        assertFalse(Files.exists(out.resolve("run.json")), "no run.json for a run whose base did not load");
        args[2] = TrainerTest.init(tmp.resolve("good"), 1).toString();
        CliRun ok = CliRun.of(args);
        assertEquals(0, ok.code(), ok.err());
    }
}
