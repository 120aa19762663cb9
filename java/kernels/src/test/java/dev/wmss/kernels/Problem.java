package dev.wmss.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * One random ce_mix problem with poisoned output buffers, run through a chosen backend, plus the tolerance
 * model the tests compare with. Logits ~ N(0, scale²); every 5th row is ignored; row strides may be padded.
 */
public final class Problem {
    static final float POISON = Float.NaN;

    final Arena arena;
    final DType dtype;
    final int rows, vocab, ld;
    public final float lambda, invNorm;
    public final Logits.Host strong, weak, gradStrong, gradWeak;
    public final MemorySegment labels, rowLoss, lse, entropy;
    double maxAbs;
    /** Multiplies the loss/lse/entropy tolerance (for references that accumulate in fp32). */
    public double statSlack = 1;

    public Problem(Arena arena, DType dtype, int rows, int vocab, int pad, float lambda, double scale, long seed) {
        this.arena = arena;
        this.dtype = dtype;
        this.rows = rows;
        this.vocab = vocab;
        this.ld = vocab + pad;
        this.lambda = lambda;
        SplittableRandom rnd = new SplittableRandom(seed);
        strong = matrix();
        weak = matrix();
        gradStrong = matrix();
        gradWeak = matrix();
        labels = arena.allocate(8L * Math.max(1, rows), 8);
        int supervised = 0;
        for (int r = 0; r < rows; r++) {
            for (int v = 0; v < vocab; v++) {
                strong.set(r, v, (float) (rnd.nextGaussian() * scale));
                weak.set(r, v, (float) (rnd.nextGaussian() * scale + 0.5));
                maxAbs = Math.max(maxAbs, Math.max(Math.abs(strong.get(r, v)), Math.abs(weak.get(r, v))));
            }
            long y = r % 5 == 3 ? CeMix.IGNORE_INDEX : rnd.nextInt(vocab);
            labels.setAtIndex(ValueLayout.JAVA_LONG, r, y);
            if (y >= 0) supervised++;
        }
        invNorm = 1f / Math.max(1, supervised);
        rowLoss = floats();
        lse = floats();
        entropy = floats();
        poison();
    }

    private Logits.Host matrix() {
        return Logits.of(arena.allocate((long) Math.max(1, rows) * ld * dtype.bytes(), 64), dtype, rows, vocab, ld);
    }

    private MemorySegment floats() {
        return arena.allocate(4L * Math.max(1, rows), 64);
    }

    public void poison() {
        gradStrong.fill(POISON);
        gradWeak.fill(POISON);
        rowLoss.fill((byte) 0xFF); // NaN pattern
        lse.fill((byte) 0xFF);
        entropy.fill((byte) 0xFF);
    }

    long label(int r) {
        return labels.getAtIndex(ValueLayout.JAVA_LONG, r);
    }

    /** The whole problem as a call: both gradients out of place, every statistic. */
    public CeMixArgs.Builder call() {
        return CeMix.of(strong, weak, labels).lambda(lambda).invNorm(invNorm).gradStrong(gradStrong)
                .gradWeak(gradWeak).rowLoss(rowLoss).lse(lse).entropy(entropy);
    }

    /** The outputs of a run, copied out so the buffers can be reused. */
    public record Outputs(double loss, float[] rowLoss, float[] lse, float[] entropy, float[] gs, float[] gw) {}

    public Outputs run(CeMixBackend backend) {
        poison();
        double loss = call().run(backend);
        return snapshot(loss);
    }

    Outputs snapshot(double loss) {
        float[] gs = new float[rows * vocab], gw = new float[rows * vocab];
        for (int r = 0; r < rows; r++) {
            for (int v = 0; v < vocab; v++) {
                gs[r * vocab + v] = gradStrong.get(r, v);
                gw[r * vocab + v] = gradWeak.get(r, v);
            }
        }
        return new Outputs(loss, rowLoss.toArray(ValueLayout.JAVA_FLOAT), lse.toArray(ValueLayout.JAVA_FLOAT),
                entropy.toArray(ValueLayout.JAVA_FLOAT), gs, gw);
    }

    // ---------------------------------------------------------------- tolerances

    /** Absolute tolerance for loss, lse and entropy (fp32 arithmetic on logits of magnitude maxAbs). */
    double statTol(double ref) {
        return statSlack * (2e-5 * (1 + Math.abs(ref)) + 4 * Math.ulp(1f) * maxAbs);
    }

    /** Tolerance for a gradient element: fp32 exp and mixing; bf16: both sides rounded, so one bf16 ulp (2^-7). */
    double gradTol(double ref) {
        double k = Math.max(lambda, 1 - lambda) * invNorm;
        double rel = (dtype == DType.BF16 ? 8e-3 : 1e-5) + 8 * Math.ulp(1f) * maxAbs;
        return 2e-6 * k + rel * Math.abs(ref);
    }

    public void assertClose(String what, Outputs ref, Outputs got) {
        assertRows(what + " rowLoss", ref.rowLoss(), got.rowLoss(), rows);
        assertRows(what + " lse", ref.lse(), got.lse(), rows);
        assertRows(what + " entropy", ref.entropy(), got.entropy(), rows);
        assertGrads(what + " gradStrong", ref.gs(), got.gs());
        assertGrads(what + " gradWeak", ref.gw(), got.gw());
        double tol = 1e-5 * (1 + Math.abs(ref.loss())) + 4 * Math.ulp(1f) * maxAbs;
        if (!(Math.abs(ref.loss() - got.loss()) <= tol)) fail(what + " loss " + got.loss() + " vs " + ref.loss());
    }

    void assertRows(String what, float[] ref, float[] got, int n) {
        for (int r = 0; r < n; r++) {
            if (Float.isNaN(ref[r]) && Float.isNaN(got[r])) continue;
            if (ref[r] == got[r]) continue; // equal infinities
            if (!(Math.abs(ref[r] - got[r]) <= statTol(ref[r]))) {
                fail(what + "[" + r + "] = " + got[r] + ", reference " + ref[r] + " (tol " + statTol(ref[r]) + ")");
            }
        }
    }

    void assertGrads(String what, float[] ref, float[] got) {
        for (int i = 0; i < ref.length; i++) {
            if (Float.isNaN(ref[i]) && Float.isNaN(got[i])) continue;
            if (!(Math.abs(ref[i] - got[i]) <= gradTol(ref[i]))) {
                fail(what + "[" + i / vocab + ", " + i % vocab + "] = " + got[i] + ", reference " + ref[i]
                        + " (tol " + gradTol(ref[i]) + ", label " + label(i / vocab) + ")");
            }
        }
    }
}
