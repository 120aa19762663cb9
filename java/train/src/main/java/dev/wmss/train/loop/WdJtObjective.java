package dev.wmss.train.loop;

import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.CeMixArgs;
import dev.wmss.kernels.Entropy;
import dev.wmss.kernels.Logits;
import dev.wmss.kernels.error.NonFiniteException;
import dev.wmss.kernels.error.Status;
import dev.wmss.runtime.FusedHead;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Batch;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * WD-JT: both models run on the same tokens; z_mix = lambda·z_strong + (1 − lambda)·z_weak; the loss is the
 * cross-entropy of z_mix over the supervised tokens of the step. d/dz_strong = lambda·g/n and d/dz_weak =
 * (1 − lambda)·g/n come out of the fused kernel in place: with the fused head (default) one chunk of rows at a time,
 * never the whole N×V logits; with the full head on materialised logits. A frozen weak model gets no gradient and
 * no step. Diagnostics (the paper's): mean entropy of strong, weak and mixed distributions over supervised positions,
 * the strong model's mean non-target logit, and the norm of the gradient on its logits (per chunk in the fused
 * head, from the per-row sums it returns).
 */
public final class WdJtObjective implements Objective {
    private final TorchModel strong, weak;
    private final float lambda;
    private final boolean freezeWeak;
    private final Head head;
    private final boolean jointClip;

    public WdJtObjective(TorchModel strong, TorchModel weak, float lambda, boolean freezeWeak) {
        this(strong, weak, lambda, freezeWeak, Head.FUSED, true);
    }

    /** jointClip: the gradient clip acts on both models' joint norm (default), else on each model's own. */
    public WdJtObjective(TorchModel strong, TorchModel weak, float lambda, boolean freezeWeak, Head head, boolean jointClip) {
        if (!(lambda >= 0 && lambda <= 1)) throw new IllegalArgumentException("lambda must be in [0, 1], got " + lambda);
        this.strong = strong;
        this.weak = weak;
        this.lambda = lambda;
        this.freezeWeak = freezeWeak;
        this.head = head;
        this.jointClip = jointClip;
        if (freezeWeak) weak.setTrainable(false);
    }

    @Override
    public double microBatch(Batch b, float invNorm, Arena arena, Map<String, Object> diag) {
        MemorySegment ids = arena.allocateFrom(ValueLayout.JAVA_LONG, b.ids());
        MemorySegment mask = arena.allocateFrom(ValueLayout.JAVA_LONG, b.mask());
        MemorySegment labels = arena.allocateFrom(ValueLayout.JAVA_LONG, b.labels());
        return head.fused() ? fused(b, ids, mask, labels, invNorm, arena, diag) : full(b, ids, mask, labels, invNorm, arena, diag);
    }

    private double fused(Batch b, MemorySegment ids, MemorySegment mask, MemorySegment labels, float invNorm, Arena arena,
                         Map<String, Object> diag) {
        long rows = (long) b.batch() * b.seq();
        strong.forwardHidden(ids, mask, b.batch(), b.seq(), true);
        weak.forwardHidden(ids, mask, b.batch(), b.seq(), !freezeWeak);
        FusedHead.Builder call = FusedHead.of(strong, weak, labels, rows).lambda(lambda).invNorm(invNorm)
                .chunkBytes(head.chunkBytes());
        MemorySegment hs = null, hw = null, hm = null, nonTarget = null, gradSq = null;
        if (diag != null) {
            call.entropyStrong(hs = perRow(arena, rows)).entropyWeak(hw = perRow(arena, rows)).entropy(hm = perRow(arena, rows))
                    .nonTargetLogitStrong(nonTarget = perRow(arena, rows)).gradSquaredStrong(gradSq = perRow(arena, rows));
        }
        double loss = call.run();
        if (diag != null) {
            diag.put("entropy_strong", b.meanOverSupervised(hs));
            diag.put("entropy_weak", b.meanOverSupervised(hw));
            diag.put("non_target_logit_strong", b.meanOverSupervised(nonTarget));
            diag.put("entropy_mixed", b.meanOverSupervised(hm));
            double sq = 0;
            for (long r = 0; r < rows; r++) sq += gradSq.getAtIndex(ValueLayout.JAVA_FLOAT, r);
            SftObjective.logitGradient(diag, Math.sqrt(sq), invNorm, b.supervised());
        }
        return loss;
    }

    private double full(Batch b, MemorySegment ids, MemorySegment mask, MemorySegment labels, float invNorm, Arena arena,
                        Map<String, Object> diag) {
        Logits.Host zs = strong.forward(ids, mask, b.batch(), b.seq(), true);
        Logits.Host zw = weak.forward(ids, mask, b.batch(), b.seq(), !freezeWeak);
        MemorySegment mixedH = diag != null ? perRow(arena, zs.rows()) : null;
        if (diag != null) {
            diag.put("entropy_strong", b.meanOverSupervised(entropy(zs, arena)));
            diag.put("entropy_weak", b.meanOverSupervised(entropy(zw, arena)));
            diag.put("non_target_logit_strong", meanNonTargetLogit(zs, b, arena));
        }
        CeMixArgs.Builder call = CeMix.of(zs, zw, labels).lambda(lambda).invNorm(invNorm).gradStrong(zs);
        if (!freezeWeak) call.gradWeak(zw);
        if (mixedH != null) call.entropy(mixedH);
        double loss = call.run();
        if (diag != null) {
            diag.put("entropy_mixed", b.meanOverSupervised(mixedH));
            SftObjective.logitGradient(diag, SftObjective.norm(zs), invNorm, b.supervised());
        }
        strong.backward(zs);
        if (!freezeWeak) weak.backward(zw);
        return loss;
    }

    @Override
    public GradNorms step(double lr, double maxGradNorm) {
        if (freezeWeak) return GradNorms.of("strong", strong.step(lr, maxGradNorm));
        // both norms first: neither model steps unless both are finite (the native step checks only its own)
        double ns = strong.gradNorm(), nw = weak.gradNorm(), joint = Math.hypot(ns, nw);
        Map<String, Double> each = new LinkedHashMap<>();
        each.put("strong", ns);
        each.put("weak", nw);
        for (var e : each.entrySet()) {
            if (!Double.isFinite(e.getValue())) {
                throw new NonFiniteException(Status.NONFINITE, "the " + e.getKey() + " model's gradient norm is "
                        + e.getValue() + " (NaN or inf in its gradients): neither model was stepped");
            }
        }
        if (!jointClip || maxGradNorm <= 0) {
            strong.step(lr, maxGradNorm);
            weak.step(lr, maxGradNorm);
            return new GradNorms(joint, each);
        }
        // one clip over the joint norm of both models' gradients (the authors' code: one optimizer over both): each
        // model steps with the max norm that gives its own clip the joint coefficient
        double coef = maxGradNorm / (joint + 1e-6);
        strong.step(lr, coef < 1 ? coef * (ns + 1e-6) : 0);
        weak.step(lr, coef < 1 ? coef * (nw + 1e-6) : 0);
        return new GradNorms(joint, each);
    }

    @Override
    public Map<String, TorchModel> models() {
        Map<String, TorchModel> m = new LinkedHashMap<>();
        m.put("strong", strong);
        m.put("weak", weak);
        return m;
    }

    /** Both forwards; the backward (2 products per forward product) of each trained model. */
    @Override
    public double flops(Batch b) {
        return 3 * strong.forwardFlops(b.batch(), b.seq()) + (freezeWeak ? 1 : 3) * weak.forwardFlops(b.batch(), b.seq());
    }

    private static MemorySegment perRow(Arena arena, long rows) {
        return arena.allocate(Math.max(4, 4 * rows), 8);
    }

    private static MemorySegment entropy(Logits z, Arena arena) {
        MemorySegment h = perRow(arena, z.rows());
        Entropy.of(z, h).allowNonFinite(true).run();
        return h;
    }

    /** Mean over supervised rows of the average logit of the non-target tokens (the paper's distractor logit). */
    private static double meanNonTargetLogit(Logits.Host z, Batch b, Arena arena) {
        MemorySegment perRow = perRow(arena, z.rows());
        for (long r = 0; r < z.rows(); r++) {
            long y = b.labels()[(int) r];
            if (y == Batch.IGNORE_INDEX) continue;
            double row = 0;
            for (long v = 0; v < z.vocab(); v++) row += z.get(r, v);
            perRow.setAtIndex(ValueLayout.JAVA_FLOAT, r, (float) ((row - z.get(r, y)) / (z.vocab() - 1)));
        }
        return b.meanOverSupervised(perRow);
    }
}
