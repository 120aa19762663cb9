package dev.wmss.train.loop;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.kernels.torch.TorchModel;
import dev.wmss.train.data.Batcher;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.task.ArithmeticTasks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Resume determinism (same batches, same loss curve), checkpoints, metrics and the WD-JT diagnostics. */
public class TrainerTest {
    public static final String TINY = """
            {"model_type": "qwen3", "vocab_size": 259, "hidden_size": 32, "intermediate_size": 64,
             "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
             "tie_word_embeddings": true}""";

    static Path init(Path dir, long seed) {
        try (TorchModel m = TorchModel.init(TINY, seed)) {
            m.save(dir);
        }
        return dir;
    }

    static List<JsonObject> metrics(Path run) throws IOException {
        return Files.readAllLines(run.resolve("metrics.jsonl")).stream().map(l -> JsonParser.parseString(l).getAsJsonObject()).toList();
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (var s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path q = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(q);
                else Files.copy(p, q);
            }
        }
    }

    @Test
    void resumeReproducesTheLossCurve(@TempDir Path tmp) throws IOException {
        Batcher data = new Batcher(ArithmeticTasks.generate(80, 1, 3), new ByteTokenizer(), 64);
        Path m0 = init(tmp.resolve("m0"), 1);
        TrainConfig cfg = new TrainConfig(TrainConfig.Mode.SFT, 2, 8, 1, 3e-3, 0.1, 0.01, 1.0, 1f, false, 9, 5, 10);
        Trainer.Result full = Trainer.run(cfg, data, Trainer.all(80), m0, null, tmp.resolve("full"), false);
        assertEquals(20, full.steps());
        List<JsonObject> a = metrics(tmp.resolve("full"));
        assertEquals(20, a.size());
        // the checkpoint of step 10 (the last one before the end) is the state of an interrupted run
        Path resumed = tmp.resolve("resumed");
        copyTree(tmp.resolve("full/checkpoint"), resumed.resolve("checkpoint"));
        Files.writeString(resumed.resolve("metrics.jsonl"), String.join("\n",
                Files.readAllLines(tmp.resolve("full/metrics.jsonl"))) + "\n{\"step\": 99}\n");
        Trainer.Result again = Trainer.run(cfg, data, Trainer.all(80), m0, null, resumed, true);
        assertEquals(20, again.steps());
        List<JsonObject> b = metrics(resumed);
        assertEquals(20, b.size(), "lines after the checkpoint are rewritten, stale ones dropped");
        for (int i = 10; i < 20; i++) {
            assertEquals(a.get(i).get("step").getAsLong(), b.get(i).get("step").getAsLong());
            assertEquals(a.get(i).get("loss").getAsDouble(), b.get(i).get("loss").getAsDouble(), 1e-6, "loss at step " + (i + 1));
        }
        try (TorchModel x = TorchModel.load(full.strong()); TorchModel y = TorchModel.load(again.strong())) {
            float[] px = x.parameter("model.norm.weight")[0].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
            float[] py = y.parameter("model.norm.weight")[0].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
            assertArrayEquals(px, py, 1e-6f);
        }
    }

    @Test
    void accumulationNormalisesByTheWholeBatch(@TempDir Path tmp) throws IOException {
        // 2 micro-batches of 8 accumulated == one batch of 16: same first-step loss, near-identical updates
        Batcher data = new Batcher(ArithmeticTasks.generate(32, 1, 4), new ByteTokenizer(), 64);
        Path m0 = init(tmp.resolve("m0"), 3);
        TrainConfig big = new TrainConfig(TrainConfig.Mode.SFT, 1, 16, 1, 3e-3, 0.0, 0.0, 1.0, 1f, false, 2, 1, 0);
        TrainConfig acc = new TrainConfig(TrainConfig.Mode.SFT, 1, 8, 2, 3e-3, 0.0, 0.0, 1.0, 1f, false, 2, 1, 0);
        Trainer.run(big, data, Trainer.all(32), m0, null, tmp.resolve("big"), false);
        Trainer.run(acc, data, Trainer.all(32), m0, null, tmp.resolve("acc"), false);
        List<JsonObject> a = metrics(tmp.resolve("big")), b = metrics(tmp.resolve("acc"));
        assertEquals(2, a.size());
        assertEquals(2, b.size());
        for (int i = 0; i < 2; i++) {
            assertEquals(a.get(i).get("loss").getAsDouble(), b.get(i).get("loss").getAsDouble(), 2e-4, "step " + (i + 1));
            assertEquals(a.get(i).get("grad_norm").getAsDouble(), b.get(i).get("grad_norm").getAsDouble(), 2e-3);
        }
    }

    @Test
    void wmssRunsLogThePapersDiagnosticsAndCanFreezeTheWeakModel(@TempDir Path tmp) throws IOException {
        Batcher data = new Batcher(ArithmeticTasks.generate(40, 2, 5), new ByteTokenizer(), 160);
        Path weak = init(tmp.resolve("weak"), 1), strong = init(tmp.resolve("strong"), 2);
        TrainConfig cfg = new TrainConfig(TrainConfig.Mode.WMSS, 1, 8, 1, 3e-3, 0.0, 0.0, 1.0, 0.5f, true, 1, 1, 2);
        Trainer.Result r = Trainer.run(cfg, data, Trainer.all(40), strong, weak, tmp.resolve("run"), false);
        JsonObject last = metrics(tmp.resolve("run")).getLast();
        for (String k : new String[]{"entropy_strong", "entropy_weak", "entropy_mixed", "non_target_logit_strong",
                "grad_norm_strong_logits", "grad_norm", "lr", "tok_s"}) {
            assertTrue(last.has(k), "metrics lack " + k + ": " + last);
        }
        // entropy of the geometric mixture lies around its parts; all are positive
        assertTrue(last.get("entropy_mixed").getAsDouble() > 0, last.toString());
        try (TorchModel before = TorchModel.load(weak); TorchModel after = TorchModel.load(r.weak())) {
            assertArrayEquals(before.parameter("model.norm.weight")[0].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT),
                    after.parameter("model.norm.weight")[0].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT), "frozen weak");
        }
        assertThrows(IllegalStateException.class, () -> Trainer.run(cfg.withMode(TrainConfig.Mode.SFT, 1f), data,
                Trainer.all(40), strong, null, tmp.resolve("run"), true), "a WMSS checkpoint does not resume an SFT run");
    }
}
