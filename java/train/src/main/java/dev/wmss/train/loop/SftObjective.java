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
                logitGradient(diagnostics, Math.sqrt(sq), invNorm, b.supervised());
            }
            return loss;
        }
        Logits.Host z = strong.forward(ids, mask, b.batch(), b.seq(), true);
        double loss = CeMix.of(z, z, labels).lambda(1f).invNorm(invNorm).gradStrong(z).run();
        if (diagnostics != null) logitGradient(diagnostics, norm(z), invNorm, b.supervised());
        strong.backward(z);
        return loss;
    }

    /**
     * The gradient on the strong model's logits of a micro-batch, as two diagnostics: grad_norm_strong_logits, its
     * norm (it carries invNorm = 1/n of the whole step, so a short last batch of an epoch shows a spike that is no
     * effect), and grad_rms_strong_logits, the root mean square over the micro-batch's supervised tokens of the
     * gradient per token (times n: independent of the batch's size), which the plots show.
     */
    static void logitGradient(Map<String, Object> diagnostics, double norm, float invNorm, int supervised) {
        diagnostics.put("grad_norm_strong_logits", norm);
        if (supervised > 0 && invNorm > 0) diagnostics.put("grad_rms_strong_logits", norm / invNorm / Math.sqrt(supervised));
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
