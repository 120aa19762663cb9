package dev.wmss.train.loop;

import dev.wmss.kernels.Logits;
import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.torch.TorchModel;
import dev.wmss.train.data.Batch;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Map;

/** Plain SFT: cross-entropy of the strong model's logits (the fused kernel at lambda = 1, gradient in place). */
public final class SftObjective implements Objective {
    private final TorchModel strong;

    public SftObjective(TorchModel strong) {
        this.strong = strong;
    }

    @Override
    public double microBatch(Batch b, float invNorm, Arena arena, Map<String, Object> diagnostics) {
        Logits.Host z = strong.forward(arena.allocateFrom(ValueLayout.JAVA_LONG, b.ids()),
                arena.allocateFrom(ValueLayout.JAVA_LONG, b.mask()), b.batch(), b.seq(), true);
        double loss = CeMix.of(z, z, arena.allocateFrom(ValueLayout.JAVA_LONG, b.labels())).lambda(1f)
                .invNorm(invNorm).gradStrong(z).run();
        strong.backward(z);
        return loss;
    }

    @Override
    public double step(double lr, double maxGradNorm) {
        return strong.step(lr, maxGradNorm);
    }

    @Override
    public Map<String, TorchModel> models() {
        return Map.of("strong", strong);
    }
}
