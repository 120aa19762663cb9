package dev.wmss.train.loop;

import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.DType;
import dev.wmss.kernels.Logits;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Batch;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;

/**
 * The temperature control of WD-JT: one model trained on the cross-entropy of lambda·z (its logits at temperature
 * 1/lambda), no weak model. WD-JT with a weak model whose logits carry no information about the target would do
 * exactly this, so "joint minus temperature control" is what the weak model itself adds. The gradient on z is
 * lambda·(softmax(lambda·z) − onehot(y))/n: the fused kernel with a zero weak input. Through full logits (the
 * fused head takes one model only at lambda 1). Diagnostics: the model's entropy at temperature 1 and at 1/lambda
 * (as "entropy_mixed"), and the norm of the gradient on its logits.
 */
public final class TemperatureObjective extends OneModelObjective {
    private final float lambda;

    public TemperatureObjective(TorchModel strong, float lambda) {
        if (!(lambda > 0 && lambda <= 1)) throw new IllegalArgumentException("lambda must be in (0, 1], got " + lambda);
        super(strong);
        this.lambda = lambda;
    }

    @Override
    public double microBatch(Batch b, float invNorm, Arena arena, Map<String, Object> diag) {
        Logits.Host z = strong.forward(arena.allocateFrom(ValueLayout.JAVA_LONG, b.ids()),
                arena.allocateFrom(ValueLayout.JAVA_LONG, b.mask()), b.batch(), b.seq(), true);
        // zeros: arena memory is zero-filled; lambda·z + (1 − lambda)·0
        Logits.Host zero = new Logits.Host(arena.allocate(Math.max(4, 4 * z.rows() * z.vocab()), 64), DType.F32, z.rows(),
                z.vocab(), z.vocab());
        MemorySegment labels = arena.allocateFrom(ValueLayout.JAVA_LONG, b.labels());
        MemorySegment hs = null, hm = null;
        if (diag != null) {
            hs = arena.allocate(Math.max(4, 4 * z.rows()), 8);
            dev.wmss.kernels.Entropy.of(z, hs).allowNonFinite(true).run();
            hm = arena.allocate(Math.max(4, 4 * z.rows()), 8);
        }
        var call = CeMix.of(z, zero, labels).lambda(lambda).invNorm(invNorm).gradStrong(z);
        if (hm != null) call.entropy(hm);
        double loss = call.run();
        if (diag != null) {
            diag.put("entropy_strong", b.meanOverSupervised(hs));
            diag.put("entropy_mixed", b.meanOverSupervised(hm));
            SftObjective.logitGradient(diag, SftObjective.norm(z), invNorm, b.supervised());
        }
        strong.backward(z);
        return loss;
    }
}
