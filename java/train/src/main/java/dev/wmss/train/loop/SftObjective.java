package dev.wmss.train.loop;

import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.Logits;
import dev.wmss.kernels.torch.FusedHead;
import dev.wmss.kernels.torch.TorchModel;
import dev.wmss.train.data.Batch;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;

/**
 * Plain SFT: cross-entropy of the strong model's logits (the fused kernel at lambda = 1). With the fused head
 * (default) the logits exist one chunk of rows at a time; with the full head they are materialised and their
 * gradient overwrites them in place.
 */
public final class SftObjective implements Objective {
    private final TorchModel strong;
    private final Head head;

    public SftObjective(TorchModel strong) {
        this(strong, Head.FUSED);
    }

    public SftObjective(TorchModel strong, Head head) {
        this.strong = strong;
        this.head = head;
    }

    @Override
    public double microBatch(Batch b, float invNorm, Arena arena, Map<String, Object> diagnostics) {
        MemorySegment ids = arena.allocateFrom(ValueLayout.JAVA_LONG, b.ids());
        MemorySegment mask = arena.allocateFrom(ValueLayout.JAVA_LONG, b.mask());
        MemorySegment labels = arena.allocateFrom(ValueLayout.JAVA_LONG, b.labels());
        if (head.fused()) {
            strong.forwardHidden(ids, mask, b.batch(), b.seq(), true);
            return FusedHead.of(strong, null, labels, (long) b.batch() * b.seq()).invNorm(invNorm).chunkBytes(head.chunkBytes()).run();
        }
        Logits.Host z = strong.forward(ids, mask, b.batch(), b.seq(), true);
        double loss = CeMix.of(z, z, labels).lambda(1f).invNorm(invNorm).gradStrong(z).run();
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

    @Override
    public double flops(Batch b) {
        return 3 * strong.forwardFlops(b.batch(), b.seq());
    }
}
