package dev.wmss.train.loop;

import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.Logits;
import dev.wmss.runtime.FusedHead;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Batch;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;

/**
 * Plain SFT: cross-entropy of the strong model's logits (the fused kernel at lambda = 1). With the fused head
 * (default) the logits exist one chunk of rows at a time; with the full head they are materialised and their
 * gradient overwrites them in place. Diagnostic: the norm of the gradient on the logits (how far from saturated the
 * model still is on its targets; WD-JT logs the same for its strong model).
 */
public final class SftObjective extends OneModelObjective {
    private final Head head;

    public SftObjective(TorchModel strong) {
        this(strong, Head.FUSED);
    }

    public SftObjective(TorchModel strong, Head head) {
        super(strong);
        this.head = head;
    }

    @Override
    public double microBatch(Batch b, float invNorm, Arena arena, Map<String, Object> diagnostics) {
        MemorySegment ids = arena.allocateFrom(ValueLayout.JAVA_LONG, b.ids());
        MemorySegment mask = arena.allocateFrom(ValueLayout.JAVA_LONG, b.mask());
        MemorySegment labels = arena.allocateFrom(ValueLayout.JAVA_LONG, b.labels());
        if (head.fused()) {
            long rows = (long) b.batch() * b.seq();
            strong.forwardHidden(ids, mask, b.batch(), b.seq(), true);
            MemorySegment gradSq = diagnostics == null ? null : arena.allocate(Math.max(4, 4 * rows), 8);
            FusedHead.Builder call = FusedHead.of(strong, null, labels, rows).invNorm(invNorm).chunkBytes(head.chunkBytes());
            if (gradSq != null) call.gradSquaredStrong(gradSq);
            double loss = call.run();
            if (gradSq != null) {
                double sq = 0;
                for (long r = 0; r < rows; r++) sq += gradSq.getAtIndex(ValueLayout.JAVA_FLOAT, r);
                diagnostics.put("grad_norm_strong_logits", Math.sqrt(sq));
            }
            return loss;
        }
        Logits.Host z = strong.forward(ids, mask, b.batch(), b.seq(), true);
        double loss = CeMix.of(z, z, labels).lambda(1f).invNorm(invNorm).gradStrong(z).run();
        if (diagnostics != null) diagnostics.put("grad_norm_strong_logits", norm(z));
        strong.backward(z);
        return loss;
    }

    /** The Frobenius norm of host logits (or of the gradient stored over them). */
    static double norm(Logits.Host g) {
        double s = 0;
        for (long r = 0; r < g.rows(); r++) {
            for (long v = 0; v < g.vocab(); v++) {
                double x = g.get(r, v);
                s += x * x;
            }
        }
        return Math.sqrt(s);
    }
}
