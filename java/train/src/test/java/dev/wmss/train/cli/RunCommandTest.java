package dev.wmss.train.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.runtime.TorchModel;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * `run`: the whole method with its control on a user's model and data, stage-level resume, refused mismatches, the
 * report; and an integration run on real data (GSM8K from ../shared/data, skipped when absent).
 */
class RunCommandTest {
    static final String SMALL = """
            {"model_type": "qwen3", "vocab_size": 259, "hidden_size": 48, "intermediate_size": 96,
             "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 12,
             "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": true, "max_position_embeddings": 2048}""";

    private static int run(StringWriter err, String... args) {
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err));
        return cl.execute(args);
    }

    static Path model(Path dir, long seed) {
        try (TorchModel m = TorchModel.init(SMALL, seed)) {
            m.save(dir);
        }
        return dir;
    }

    @Test
    void runsEveryStageOnceAndResumesWithTheSameSettingsOnly(@TempDir Path tmp) throws Exception {
        Path m0 = model(tmp.resolve("m0"), 1);
        Path data = tmp.resolve("d.jsonl"), test = tmp.resolve("t.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 32; i++) {
            lines.append("{\"question\": \"").append(i).append(" + 2 = ?\", \"answer\": \"").append(i).append(" + 2 = ")
                    .append(i + 2).append("\\n#### ").append(i + 2).append("\"}\n");
        }
        Files.writeString(data, lines);
        Files.writeString(test, lines.substring(0, lines.indexOf("\n", 400) + 1));
        Path out = tmp.resolve("run");
        String[] args = {"run", "--base", m0.toString(), "--train", data.toString(), "--eval", test.toString(), "--out",
                out.toString(), "--batch", "8", "--log-every", "1", "--max-new", "16", "--lr", "3e-3"};
        StringWriter err = new StringWriter();
        assertEquals(0, run(err, args), err.toString());
        for (String stage : List.of("m1", "control", "wdds", "wdjt", "eval")) {
            assertTrue(Files.isRegularFile(out.resolve(stage).resolve("stage.json")), stage);
        }
        assertTrue(Files.isRegularFile(out.resolve("final.stage.json")), "final's record beside the model's directory");
        assertTrue(Files.exists(out.resolve("final/model.safetensors")));
        JsonObject control = JsonParser.parseString(Files.readString(out.resolve("control/train.json"))).getAsJsonObject();
        assertEquals(2, control.getAsJsonObject("config").get("epochs").getAsInt(), "the control: 1 + 1 epochs");
        JsonObject jt = JsonParser.parseString(Files.readString(out.resolve("wdjt/train.json"))).getAsJsonObject();
        assertEquals("ALL", jt.getAsJsonObject("config").get("lossTokens").getAsString());
        String report = Files.readString(out.resolve("report.md"));
        assertTrue(report.contains("| M1 (SFT, 1 epoch) |") && report.contains("WD-DS: CODE variant, 32 draws"), report);
        assertTrue(Files.size(out.resolve("plots/loss.png")) > 1000);
        long written = Files.getLastModifiedTime(out.resolve("wdjt/strong/model.safetensors")).toMillis();

        // again without --resume: refused; with other settings: refused naming them; with --resume: nothing redone
        StringWriter again = new StringWriter();
        assertEquals(1, run(again, args));
        assertTrue(again.toString().contains("holds a run (run.json): continue it with --resume"), again.toString());
        String[] other = args.clone();
        other[other.length - 1] = "1e-3";
        StringWriter changed = new StringWriter();
        assertEquals(1, run(changed, concat(other, "--resume")));
        // each changed field by its option, with both values (not JSON objects)
        assertTrue(changed.toString().contains("was made with other settings") && changed.toString().contains("--lr: run"
                + " 0.003, now 0.001") && !changed.toString().contains("{"), changed.toString());
        StringWriter resumed = new StringWriter();
        assertEquals(0, run(resumed, concat(args, "--resume")), resumed.toString());
        assertEquals(written, Files.getLastModifiedTime(out.resolve("wdjt/strong/model.safetensors")).toMillis(),
                "a finished stage is not redone");
        assertEquals(report.substring(0, report.indexOf("| stage |")),
                Files.readString(out.resolve("report.md")).substring(0, report.indexOf("| stage |")), "the same results");
        // run.json holds the inputs by content and what --max-len cut (nothing here)
        JsonObject settings = JsonParser.parseString(Files.readString(out.resolve("run.json"))).getAsJsonObject();
        assertEquals(0, settings.getAsJsonObject("truncation").get("examples").getAsInt(), settings.toString());
        for (String k : List.of("base_sha256", "train_sha256", "eval_sha256", "tokenizer_sha256")) {
            assertTrue(settings.get(k).getAsString().length() >= 4, k + " in " + settings);
        }
        // a change of logging (or checkpoint frequency) only is accepted, and nothing is redone
        StringWriter logOnly = new StringWriter();
        String[] logging = concat(args, "--resume", "--checkpoint-every", "7");
        logging[java.util.Arrays.asList(logging).indexOf("--log-every") + 1] = "3";
        assertEquals(0, run(logOnly, logging), logOnly.toString());
        assertEquals(written, Files.getLastModifiedTime(out.resolve("wdjt/strong/model.safetensors")).toMillis());
        // what would change the results is refused, the field named: the export's dtype of a finished run, ...
        StringWriter dtype = new StringWriter();
        assertEquals(1, run(dtype, concat(args, "--export-dtype", "F32", "--resume")));
        assertTrue(dtype.toString().contains("--export-dtype: run BF16, now F32"), dtype.toString());
        // ... the training file's contents under the same path with the same number of examples, ...
        String original = Files.readString(data);
        Files.writeString(data, original.replace("#### 7\"", "#### 8\""));
        StringWriter dataChanged = new StringWriter();
        assertEquals(1, run(dataChanged, concat(args, "--resume")));
        assertTrue(dataChanged.toString().contains("--train's contents (SHA-256): run "), dataChanged.toString());
        assertFalse(dataChanged.toString().contains("training examples"), "the count is the same: " + dataChanged);
        Files.writeString(data, original);
        // ... and the base model's weights replaced in place: one bit in the middle, same header, size and ends
        Path weights = m0.resolve("model.safetensors");
        byte[] w = Files.readAllBytes(weights), flipped = w.clone();
        flipped[w.length / 2] ^= 1;
        Files.write(weights, flipped);
        StringWriter baseChanged = new StringWriter();
        assertEquals(1, run(baseChanged, concat(args, "--resume")));
        assertTrue(baseChanged.toString().contains("--base's contents (SHA-256 of config.json and the weights): run "),
                baseChanged.toString());
        Files.write(weights, w);

        // a stage without its marker (stopped before it finished) runs again: its training had finished and its final
        // models verify, so nothing is trained again; the finished stages stay; the seconds of the invocations that
        // stopped in it count toward it
        Files.delete(out.resolve("wdjt/stage.json"));
        Files.writeString(out.resolve("wdjt/elapsed.json"), "{\"stage\": \"wdjt\", \"seconds\": 1000.0}\n");
        long m1 = Files.getLastModifiedTime(out.resolve("m1/strong/model.safetensors")).toMillis();
        Thread.sleep(20);
        StringWriter half = new StringWriter();
        assertEquals(0, run(half, concat(args, "--resume")), half.toString());
        assertTrue(Files.isRegularFile(out.resolve("wdjt/stage.json")), "the stage ran again");
        assertEquals(written, Files.getLastModifiedTime(out.resolve("wdjt/strong/model.safetensors")).toMillis(),
                "a finished training is not redone");
        assertEquals(m1, Files.getLastModifiedTime(out.resolve("m1/strong/model.safetensors")).toMillis());
        double wdjtSeconds = JsonParser.parseString(Files.readString(out.resolve("wdjt/stage.json"))).getAsJsonObject()
                .get("seconds").getAsDouble();
        assertTrue(wdjtSeconds > 1000, "earlier invocations count: " + wdjtSeconds);
        assertTrue(Files.readString(out.resolve("report.md")).contains("| wdjt | 10"), "the report's seconds");

        // A finished stage counts as done only while its files verify (an audit: a deleted M1 or a corrupted final
        // model were "done before, skipped"). M1's weights deleted: M1 is trained again (no checkpoint: from M0), to
        // the same bytes, so the stages that read it stay done; the final model corrupted: the export runs again.
        Path m1Weights = out.resolve("m1/strong/model.safetensors"), finalWeights = out.resolve("final/model.safetensors");
        byte[] m1Bytes = Files.readAllBytes(m1Weights), finalBytes = Files.readAllBytes(finalWeights);
        long wdjtMade = Files.getLastModifiedTime(out.resolve("wdjt/strong/model.safetensors")).toMillis();
        Files.delete(m1Weights);
        byte[] corrupt = finalBytes.clone();
        for (int i = 0; i < 64; i++) corrupt[corrupt.length / 2 + i] ^= (byte) 0x5A;
        Files.write(finalWeights, corrupt);
        StringWriter repaired = new StringWriter();
        assertEquals(0, run(repaired, concat(args, "--resume")), repaired.toString());
        assertArrayEquals(m1Bytes, Files.readAllBytes(m1Weights), "M1 trained again, bit for bit");
        assertArrayEquals(finalBytes, Files.readAllBytes(finalWeights), "the final model exported again");
        assertEquals(wdjtMade, Files.getLastModifiedTime(out.resolve("wdjt/strong/model.safetensors")).toMillis(),
                "WD-JT read an M1 of the same bytes: not redone");
        // a stage's marker edited by hand (its own CRC) is not trusted either
        Path marker = out.resolve("eval/stage.json");
        Files.writeString(marker, Files.readString(marker).replace("\"seconds\": ", "\"seconds\": 1"));
        StringWriter edited = new StringWriter();
        assertEquals(0, run(edited, concat(args, "--resume")), edited.toString());
        assertDoesNotThrow(() -> dev.wmss.train.loop.FileManifest.checkSeal(JsonParser.parseString(
                Files.readString(marker)).getAsJsonObject(), marker), "the evaluation ran again and wrote a sound marker");

        // A stage is this run's only if it was made with this run's settings (an audit: run.json edited to lambda 0.7
        // and resumed with --lambda 0.7 skipped every stage made at 0.5; M1 copied from a run of another seed was
        // "done before"). Each marker records the settings: another's is refused, naming the differences.
        String runJson = Files.readString(out.resolve("run.json"));
        Files.writeString(out.resolve("run.json"), runJson.replace("\"lambda\": 0.5", "\"lambda\": 0.7"));
        StringWriter lambda = new StringWriter();
        assertEquals(1, run(lambda, concat(args, "--resume", "--lambda", "0.7")));
        assertTrue(lambda.toString().contains(out.resolve("m1") + " was made with other settings than this run's")
                && lambda.toString().contains("--lambda: stage 0.5, now 0.7"), lambda.toString());
        Files.writeString(out.resolve("run.json"), runJson);
        Path otherRun = tmp.resolve("other");
        String[] seed2 = concat(args, "--seed", "2");
        seed2[java.util.Arrays.asList(seed2).indexOf("--out") + 1] = otherRun.toString();
        assertEquals(0, run(new StringWriter(), seed2));
        dev.wmss.train.loop.Checkpointer.deleteTree(out.resolve("m1"));
        DataParallelRunTest.copyTree(otherRun.resolve("m1"), out.resolve("m1"));
        StringWriter copied = new StringWriter();
        assertEquals(1, run(copied, concat(args, "--resume")));
        assertTrue(copied.toString().contains("--seed: stage 2, now 1") && copied.toString().contains("delete "
                + out.resolve("m1") + " to make it again"), copied.toString());
    }

    @Test
    void gsm8kEndToEnd(@TempDir Path tmp) throws Exception {
        Path gsm8k = repoRoot().resolveSibling("shared").resolve("data/gsm8k");
        Assumptions.assumeTrue(Files.isRegularFile(gsm8k.resolve("train.jsonl")), "no GSM8K at " + gsm8k);
        List<String> train = Files.readAllLines(gsm8k.resolve("train.jsonl")).subList(0, 300);
        List<String> test = Files.readAllLines(gsm8k.resolve("test.jsonl")).subList(0, 40);
        Path d = Files.write(tmp.resolve("train.jsonl"), train), t = Files.write(tmp.resolve("test.jsonl"), test);
        Path m0 = model(tmp.resolve("m0"), 3);
        Path out = tmp.resolve("run");
        StringWriter err = new StringWriter();
        assertEquals(0, run(err, "run", "--base", m0.toString(), "--train", d.toString(), "--eval", t.toString(),
                "--out", out.toString(), "--max-len", "640", "--batch", "16", "--max-new", "64", "--lr", "3e-3",
                "--log-every", "2"), err.toString());
        JsonObject eval = JsonParser.parseString(Files.readString(out.resolve("eval/eval.json"))).getAsJsonObject();
        for (String arm : List.of("base", "m1", "control", "wmss")) {
            assertEquals(40, eval.getAsJsonObject(arm).get("examples").getAsInt(), arm);
        }
        // training on real text lowered the held-out token loss of every trained arm below the base model's
        double base = eval.getAsJsonObject("base").get("tokenLoss").getAsDouble();
        for (String arm : List.of("m1", "control", "wmss")) {
            assertTrue(eval.getAsJsonObject(arm).get("tokenLoss").getAsDouble() < base, arm + " vs base " + base);
        }
    }

    static Path repoRoot() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("wmss.sh"))) p = p.getParent();
        return p == null ? Path.of("").toAbsolutePath() : p;
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @org.junit.jupiter.api.Test
    void evalNoneMeansNoEvaluation() {
        assertNull(RunCommand.evalSpec("none"));
        assertNull(RunCommand.evalSpec("NONE"));
        assertNull(RunCommand.evalSpec(null));
        assertEquals("builtin:test", RunCommand.evalSpec("builtin:test"));
    }
}
