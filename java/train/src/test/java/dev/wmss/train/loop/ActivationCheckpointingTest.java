package dev.wmss.train.loop;

import com.google.gson.JsonObject;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.Collator;
import dev.wmss.train.task.ArithmeticTasks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Layer activation checkpointing changes memory, not results: on the CPU in fp32, training with it gives the loss and
 * the gradient norm of every step and the final weights of both models bit for bit as without it. Qwen3 (q/k norms,
 * untied), Llama (tied) and Qwen2 (attention biases), three layers each (the last is never checkpointed); SFT and
 * WD-JT (both models trained, and the weak frozen), the fused head and the full logits, accumulation, rows of
 * different lengths (padding masks).
 */
class ActivationCheckpointingTest {
    static final String QWEN3 = """
            {"model_type": "qwen3", "vocab_size": 259, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 3,
             "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8, "tie_word_embeddings": false}""";
    static final String LLAMA = """
            {"model_type": "llama", "vocab_size": 259, "hidden_size": 24, "intermediate_size": 40, "num_hidden_layers": 3,
             "num_attention_heads": 3, "num_key_value_heads": 3, "tie_word_embeddings": true}""";
    static final String QWEN2 = """
            {"model_type": "qwen2", "vocab_size": 259, "hidden_size": 32, "intermediate_size": 48, "num_hidden_layers": 3,
             "num_attention_heads": 4, "num_key_value_heads": 2, "tie_word_embeddings": true}""";

    static Path model(Path dir, String config, long seed) {
        try (TorchModel m = TorchModel.init(config, seed)) {
            m.save(dir);
        }
        return dir;
    }

    static List<JsonObject> train(TrainConfig cfg, Collator data, Path strong, Path weak, Path out, Head head, boolean ckpt)
            throws IOException {
        TrainingRun.Builder b = TrainingRun.builder(cfg).data(data, Sampler.all(data.size())).strong(strong).out(out)
                .head(head).activationCheckpointing(ckpt);
        if (weak != null) b.weak(weak);
        b.prepare().run();
        return TrainerTest.metrics(out);
    }

    @Test
    void checkpointingGivesTheSameStepsAndWeightsBitForBit(@TempDir Path tmp) throws IOException {
        Collator data = new Collator(ArithmeticTasks.generate(12, 2, 7), new ByteTokenizer(), 96);
        int k = 0;
        for (String config : List.of(QWEN3, LLAMA, QWEN2)) {
            Path weak = model(tmp.resolve("w" + k), config, 10 + k), strong = model(tmp.resolve("s" + k), config, 20 + k);
            TrainConfig sft = TrainConfig.builder(TrainConfig.Mode.SFT).batchSize(3).accum(2).epochs(1).lr(3e-3)
                    .logEvery(1).checkpointEvery(0).seed(4).build();
            TrainConfig jt = TrainConfig.builder(TrainConfig.Mode.WDJT).batchSize(4).lambda(0.3f).epochs(1).lr(3e-3)
                    .logEvery(1).checkpointEvery(0).seed(4).build();
            Object[][] runs = {{"sft", sft, null, Head.FUSED}, {"wdjt", jt, weak, HeadTest.SMALL_CHUNKS},
                    {"wdjt-full-logits", jt, weak, Head.FULL}, {"wdjt-frozen", jt.toBuilder().freezeWeak(true).build(), weak, Head.FUSED}};
            for (Object[] r : runs) {
                String what = config.substring(config.indexOf(':') + 3, config.indexOf(',') - 1) + " " + r[0];
                Path off = tmp.resolve(k + "-" + r[0] + "-off"), on = tmp.resolve(k + "-" + r[0] + "-on");
                List<JsonObject> a = train((TrainConfig) r[1], data, strong, (Path) r[2], off, (Head) r[3], false);
                List<JsonObject> b = train((TrainConfig) r[1], data, strong, (Path) r[2], on, (Head) r[3], true);
                assertTrue(a.size() >= 2, what);
                TrainerTest.sameSteps(a, b, 1, what + " with checkpointing");
                TrainerTest.assertSameBytes(off.resolve("strong"), on.resolve("strong"), what + ": strong");
                if (r[2] != null) TrainerTest.assertSameBytes(off.resolve("weak"), on.resolve("weak"), what + ": weak");
            }
            k++;
        }
    }
}
