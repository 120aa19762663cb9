package dev.wmss.train.loop;

import com.google.gson.JsonObject;
import dev.wmss.kernels.Logits;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Batch;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.Collator;
import dev.wmss.train.task.ArithmeticTasks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The temperature control: CE of lambda·z for one model, checked against a float64 reference and against SFT at lambda 1. */
class TemperatureObjectiveTest {
    @Test
    void lossAndLogitGradientAreThoseOfTheScaledLogits(@TempDir Path tmp) {
        Collator data = new Collator(ArithmeticTasks.generate(6, 2, 4), new ByteTokenizer(), 160);
        Batch b = data.collate(new int[]{0, 1, 2, 3, 4, 5});
        float lambda = 0.3f;
        try (TorchModel m = TorchModel.load(TrainerTest.init(tmp.resolve("m"), 3)); Arena arena = Arena.ofConfined()) {
            Logits.Host z = m.forward(arena.allocateFrom(ValueLayout.JAVA_LONG, b.ids()),
                    arena.allocateFrom(ValueLayout.JAVA_LONG, b.mask()), b.batch(), b.seq(), false);
            int n = b.supervised();
            double loss = 0, gradSq = 0;
            for (long r = 0; r < z.rows(); r++) {
                long y = b.labels()[(int) r];
                if (y == Batch.IGNORE_INDEX) continue;
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (long v = 0; v < z.vocab(); v++) max = Math.max(max, lambda * (double) z.get(r, v));
                for (long v = 0; v < z.vocab(); v++) sum += Math.exp(lambda * (double) z.get(r, v) - max);
                loss += max + Math.log(sum) - lambda * (double) z.get(r, y);
                for (long v = 0; v < z.vocab(); v++) {
                    double g = lambda * (Math.exp(lambda * (double) z.get(r, v) - max) / sum - (v == y ? 1 : 0)) / n;
                    gradSq += g * g;
                }
            }
            m.adamW(1e-3, 0.9, 0.999, 1e-8, 0);
            Map<String, Object> diag = new HashMap<>();
            double got = new TemperatureObjective(m, lambda).microBatch(b, 1f / n, arena, diag);
            assertEquals(loss / n, got, 1e-5 * Math.abs(loss / n));
            assertEquals(Math.sqrt(gradSq), (double) diag.get("grad_norm_strong_logits"), 1e-5 * Math.sqrt(gradSq));
            assertTrue((double) diag.get("entropy_mixed") > (double) diag.get("entropy_strong"), "lambda < 1 is a higher temperature");
        }
    }

    @Test
    void atLambdaOneItIsSftInWdJtsOrder(@TempDir Path tmp) throws IOException {
        Collator data = new Collator(ArithmeticTasks.generate(24, 1, 6), new ByteTokenizer(), 128);
        Path m0 = TrainerTest.init(tmp.resolve("m0"), 1);
        TrainConfig.Builder base = TrainConfig.builder(TrainConfig.Mode.SFT).batchSize(8).lr(3e-3).seed(5).logEvery(1)
                .checkpointEvery(0);
        TrainConfig temp = base.mode(TrainConfig.Mode.TEMPERATURE).lambda(1f).lossTokens(TrainConfig.LossTokens.COMPLETION).build();
        TrainConfig sft = base.mode(TrainConfig.Mode.SFT).seed(5 ^ Sampler.JOINT_SALT).build();
        assertEquals(Sampler.stageSeed(temp), Sampler.stageSeed(sft), "the same example order");
        TrainingRun.builder(temp).data(data, Sampler.all(24)).strong(m0).out(tmp.resolve("t")).head(Head.FULL).prepare().run();
        TrainingRun.builder(sft).data(data, Sampler.all(24)).strong(m0).out(tmp.resolve("s")).head(Head.FULL).prepare().run();
        List<JsonObject> a = TrainerTest.metrics(tmp.resolve("t")), c = TrainerTest.metrics(tmp.resolve("s"));
        assertEquals(3, a.size());
        for (int i = 0; i < a.size(); i++) {
            assertEquals(c.get(i).get("loss").getAsDouble(), a.get(i).get("loss").getAsDouble(), 1e-5, "step " + (i + 1));
            assertEquals(c.get(i).get("grad_norm_strong_logits").getAsDouble(),
                    a.get(i).get("grad_norm_strong_logits").getAsDouble(), 1e-5, "step " + (i + 1));
        }
    }

    @Test
    void theConfigurationRefusesWhatTheControlCannotBe() {
        TrainConfig.Builder b = TrainConfig.builder(TrainConfig.Mode.TEMPERATURE);
        assertThrows(IllegalArgumentException.class, () -> b.lambda(0f).build());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.lambda(0.5f).freezeWeak(true).build());
        assertTrue(e.getMessage().contains("no weak model"), e.getMessage());
    }
}
