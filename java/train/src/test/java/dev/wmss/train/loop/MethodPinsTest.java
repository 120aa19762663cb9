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
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Tests that pin the method at the trainer, with fixtures that break the symmetries which hide errors: a WD-DS draw
 * that is not 0..n-1 and repeats examples, lambda away from 0.5 (where lambda = 1 - lambda), two models of
 * different weights and untied heads. The oracle of the WD-JT step is the kernel's formula evaluated in float64 on the
 * models' own logits (z_mix = lambda z_s + (1 - lambda) z_w, g = softmax(z_mix) - onehot(y), d/dz_s = lambda g / n,
 * d/dz_w = (1 - lambda) g / n), back-propagated through fresh copies of the models: nothing of the trainer's path
 * (objective, fused head, sampler, collation order) is shared with it.
 */
class MethodPinsTest {
    static final String UNTIED = TrainerTest.TINY.replace("true", "false");
    /** 8 of 9 examples, three of them twice (a draw with replacement), none of them at its own position. */
    static final int[] DRAW = {3, 3, 6, 1, 7, 7, 0, 4};

    static Path model(Path dir, long seed) {
        try (TorchModel m = TorchModel.init(UNTIED, seed)) {
            m.save(dir);
        }
        return dir;
    }

    /** The first step's loss and each model's gradient norm by the kernel's formula in float64 on the models' logits. */
    record Oracle(double loss, double strongNorm, double weakNorm, double logitRms) {}

    static Oracle oracle(Path strong, Path weak, Collator data, int[] which, float lambda) {
        try (TorchModel s = TorchModel.load(strong); TorchModel w = TorchModel.load(weak); Arena arena = Arena.ofConfined()) {
            Batch b = data.collate(which, true); // WD-JT's default: every next token is a target
            MemorySegment ids = arena.allocateFrom(ValueLayout.JAVA_LONG, b.ids());
            MemorySegment mask = arena.allocateFrom(ValueLayout.JAVA_LONG, b.mask());
            Logits.Host zs = s.forward(ids, mask, b.batch(), b.seq(), true), zw = w.forward(ids, mask, b.batch(), b.seq(), true);
            int n = b.supervised(), vocab = (int) zs.vocab();
            double loss = 0, sq = 0;
            double[] z = new double[vocab];
            for (int r = 0; r < zs.rows(); r++) {
                long y = b.labels()[r];
                double max = Double.NEGATIVE_INFINITY, sum = 0;
                for (int v = 0; v < vocab; v++) {
                    z[v] = lambda * (double) zs.get(r, v) + (1 - lambda) * (double) zw.get(r, v);
                    max = Math.max(max, z[v]);
                }
                for (int v = 0; v < vocab; v++) sum += Math.exp(z[v] - max);
                double lse = max + Math.log(sum);
                if (y != Batch.IGNORE_INDEX) loss += lse - z[(int) y];
                for (int v = 0; v < vocab; v++) {
                    double g = y == Batch.IGNORE_INDEX ? 0 : Math.exp(z[v] - lse) - (v == y ? 1 : 0);
                    sq += lambda * g * lambda * g;
                    zs.set(r, v, (float) (lambda * g / n));
                    zw.set(r, v, (float) ((1 - lambda) * g / n));
                }
            }
            s.backward(zs);
            w.backward(zw);
            return new Oracle(loss / n, s.gradNorm(), w.gradNorm(), Math.sqrt(sq / n));
        }
    }

    static Collator nine() {
        return new Collator(ArithmeticTasks.generate(9, 2, 11), new ByteTokenizer(), 96);
    }

    /**
     * One step over the whole draw (batch 8 = |draw|): its loss and both models' gradient norms are the oracle's at
     * lambda 0.3, and at lambda 1 and 0 the model whose weight is 0 gets a gradient of exactly 0; through the full
     * logits and the fused head (chunks that do not divide the rows).
     */
    @Test
    void wdJtStepAtLambdaNotOneHalfIsTheKernelFormulaOnTheModelsLogits(@TempDir Path tmp) throws IOException {
        Collator data = nine();
        Path weak = model(tmp.resolve("weak"), 21), strong = model(tmp.resolve("strong"), 22);
        for (float lambda : new float[]{0.3f, 1f, 0f}) {
            Oracle want = oracle(strong, weak, data, DRAW, lambda);
            assertTrue(want.strongNorm() > 0 || lambda == 0, "the fixture gives the strong model a gradient");
            for (Head head : List.of(Head.FULL, HeadTest.SMALL_CHUNKS)) {
                String what = "lambda " + lambda + ", " + head;
                TrainConfig cfg = TrainConfig.builder(TrainConfig.Mode.WDJT).batchSize(8).epochs(1).lr(1e-3)
                        .warmupRatio(0).lambda(lambda).seed(5).logEvery(1).checkpointEvery(0).build();
                Path out = tmp.resolve("run-" + lambda + "-" + head.fused());
                TrainingRun.builder(cfg).data(data, DRAW).strong(strong).weak(weak).out(out).head(head).prepare().run();
                JsonObject first = TrainerTest.metrics(out).getFirst();
                assertEquals(want.loss(), first.get("loss").getAsDouble(), 1e-5 * want.loss(), what + ": loss");
                double gs = first.get("grad_norm_strong").getAsDouble(), gw = first.get("grad_norm_weak").getAsDouble();
                if (lambda == 0f) assertEquals(0.0, gs, 0.0, what + ": the strong model's gradient is exactly 0");
                else assertEquals(want.strongNorm(), gs, 1e-4 * want.strongNorm(), what + ": strong gradient norm");
                if (lambda == 1f) assertEquals(0.0, gw, 0.0, what + ": the weak model's gradient is exactly 0");
                else assertEquals(want.weakNorm(), gw, 1e-4 * want.weakNorm(), what + ": weak gradient norm");
                assertEquals(Math.hypot(gs, gw), first.get("grad_norm").getAsDouble(), 1e-9 * Math.hypot(gs, gw),
                        what + ": grad_norm is the joint norm the clip acts on");
                assertEquals(want.logitRms(), first.get("grad_rms_strong_logits").getAsDouble(), 1e-4 * want.logitRms() + 1e-12,
                        what + ": the per-token gradient on the strong logits");
                TrainedExamples.assertEachEpochIsExactly(out, DRAW, 1);
            }
        }
    }

    /**
     * Every epoch of WD-JT trains on exactly the drawn examples, repeats included, whatever the batch and
     * accumulation (steps that do not divide the draw); the draw is the trainer's input, not positions 0..|D'|-1.
     */
    @Test
    void wdJtTrainsOnExactlyTheDrawnExamplesEveryEpoch(@TempDir Path tmp) throws IOException {
        Collator data = nine();
        Path weak = model(tmp.resolve("weak"), 31), strong = model(tmp.resolve("strong"), 32);
        for (int[] batchAccum : new int[][]{{3, 1}, {2, 2}}) {
            TrainConfig cfg = TrainConfig.builder(TrainConfig.Mode.WDJT).batchSize(batchAccum[0]).accum(batchAccum[1])
                    .epochs(2).lr(1e-3).lambda(0.3f).seed(7).logEvery(1).checkpointEvery(0).build();
            Path out = tmp.resolve("run-" + batchAccum[0] + "x" + batchAccum[1]);
            TrainingRun.builder(cfg).data(data, DRAW).strong(strong).weak(weak).out(out).prepare().run();
            TrainedExamples.assertEachEpochIsExactly(out, DRAW, 2);
            // and the two epochs' orders differ (a seeded permutation per epoch)
            List<int[]> steps = TrainedExamples.steps(out);
            int half = steps.size() / 2;
            assertNotEquals(java.util.Arrays.toString(steps.get(0)), java.util.Arrays.toString(steps.get(half)));
        }
    }
}
