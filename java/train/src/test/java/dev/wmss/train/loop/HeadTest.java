package dev.wmss.train.loop;

import com.google.gson.JsonObject;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.Collator;
import dev.wmss.train.eval.TokenStats;
import dev.wmss.train.task.ArithmeticTasks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The trainer's two heads: the fused head (default) against the full-logits path on the same runs (SFT and WD-JT,
 * small chunks that do not divide the rows): the same losses, gradient norms and WD-JT diagnostics step by step,
 * the same token loss and WD-DS entropies; and the MFU in metrics.jsonl.
 */
class HeadTest {
    static final Head SMALL_CHUNKS = new Head(Head.Mode.FUSED, 7L * 259 * 4 * 2); // 7 rows of two models

    static List<JsonObject> run(TrainConfig cfg, Collator data, Path strong, Path weak, Path out, Head head) throws IOException {
        TrainingRun.Builder b = TrainingRun.builder(cfg).data(data, Sampler.all(data.size())).strong(strong).out(out).head(head);
        if (weak != null) b.weak(weak);
        b.prepare().run();
        return TrainerTest.metrics(out);
    }

    static void sameCurves(List<JsonObject> full, List<JsonObject> fused, List<String> keys) {
        assertEquals(full.size(), fused.size());
        for (int i = 0; i < full.size(); i++) {
            for (String k : keys) {
                assertTrue(fused.get(i).has(k), "fused metrics lack " + k + ": " + fused.get(i));
                double a = full.get(i).get(k).getAsDouble(), b = fused.get(i).get(k).getAsDouble();
                assertEquals(a, b, 1e-4 * Math.max(1, Math.abs(a)), k + " at step " + (i + 1));
            }
        }
    }

    @Test
    void wdJtWithTheFusedHeadFollowsTheFullLogitsPath(@TempDir Path tmp) throws IOException {
        Collator data = new Collator(ArithmeticTasks.generate(24, 2, 5), new ByteTokenizer(), 96);
        Path weak = TrainerTest.init(tmp.resolve("weak"), 1), strong = TrainerTest.init(tmp.resolve("strong"), 2);
        TrainConfig cfg = TrainConfig.builder(TrainConfig.Mode.WDJT).batchSize(8).lr(3e-3).warmupRatio(0).lambda(0.42f)
                .logEvery(1).checkpointEvery(0).build();
        List<JsonObject> full = run(cfg, data, strong, weak, tmp.resolve("full"), Head.FULL);
        List<JsonObject> fused = run(cfg, data, strong, weak, tmp.resolve("fused"), SMALL_CHUNKS);
        assertEquals(3, full.size());
        sameCurves(full, fused, List.of("loss", "grad_norm", "entropy_strong", "entropy_weak", "entropy_mixed",
                "non_target_logit_strong", "grad_norm_strong_logits"));
        for (JsonObject m : fused) {
            double mfu = m.get("mfu").getAsDouble();
            assertTrue(mfu > 0 && Double.isFinite(mfu), "mfu " + m);
        }
    }

    @Test
    void sftWithTheFusedHeadFollowsTheFullLogitsPath(@TempDir Path tmp) throws IOException {
        Collator data = new Collator(ArithmeticTasks.generate(24, 1, 6), new ByteTokenizer(), 96);
        Path m0 = TrainerTest.init(tmp.resolve("m0"), 4);
        TrainConfig cfg = TrainConfig.builder(TrainConfig.Mode.SFT).batchSize(8).accum(2).lr(3e-3).warmupRatio(0)
                .logEvery(1).checkpointEvery(0).build();
        sameCurves(run(cfg, data, m0, null, tmp.resolve("full"), Head.FULL),
                run(cfg, data, m0, null, tmp.resolve("fused"), new Head(Head.Mode.FUSED, 5L * 259 * 4)),
                List.of("loss", "grad_norm"));
    }

    @Test
    void tokenLossAndEntropiesAreTheSameThroughBothHeads(@TempDir Path tmp) {
        Collator data = new Collator(ArithmeticTasks.generate(10, 2, 7), new ByteTokenizer(), 64);
        try (TorchModel m = TorchModel.load(TrainerTest.init(tmp.resolve("m"), 5))) {
            double full = TokenStats.tokenLoss(m, data, 4, Head.FULL);
            assertEquals(full, TokenStats.tokenLoss(m, data, 4, new Head(Head.Mode.FUSED, 3L * 259 * 4)), 1e-5 * full);
            assertEquals(full, TokenStats.tokenLoss(m, data, 4), 1e-5 * full);
            double[] a = TokenStats.answerEntropy(m, data, 4, Head.FULL), b = TokenStats.answerEntropy(m, data, 4);
            assertEquals(data.size(), a.length);
            for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-5 * Math.max(1, a[i]), "example " + i);
        }
    }

    @Test
    void badHeadSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new Head(Head.Mode.FUSED, 0));
        assertThrows(IllegalArgumentException.class, () -> new Head(null, 1));
    }
}
