package dev.wmss.kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.LongStream;

/**
 * ce_mix in plain Java with double arithmetic throughout: the reference the native kernels are tested against
 * ({@link MixCrossEntropy.Variant#JAVA}). Same contract and edge cases as the native op, rows in parallel.
 */
final class JavaMixCrossEntropy {
    private JavaMixCrossEntropy() {}

    static void run(MixCrossEntropy.Call c, float invNorm, MemorySegment rowLoss) {
        long rows = c.strong.rows(), vocab = c.strong.vocab();
        if (!(c.lambda >= 0f && c.lambda <= 1f)) {
            throw new InvalidArgumentException(Status.ARGUMENT, "lambda = " + c.lambda + " is outside [0, 1]");
        }
        if (!(invNorm >= 0f) || Float.isInfinite(invNorm)) {
            throw new InvalidArgumentException(Status.ARGUMENT, "inv_norm = " + invNorm + " must be finite and >= 0");
        }
        for (long r = 0; r < rows; r++) {
            long y = label(c.labels, r);
            if (y != MixCrossEntropy.IGNORE_INDEX && (y < 0 || y >= vocab)) {
                throw new LabelOutOfRangeException(Status.LABEL, "labels[" + r + "] = " + y + " is outside [0, "
                        + vocab + ") and not the ignore index -100");
            }
        }
        LongStream all = LongStream.range(0, rows);
        if (shared(c, rowLoss)) all = all.parallel(); // confined segments stay on the calling thread
        long firstBad = all.filter(r -> row(c, invNorm, rowLoss, r)).min().orElse(-1);
        if (firstBad >= 0 && !c.allowNonFinite) {
            throw new NonFiniteException(Status.NONFINITE, "row " + firstBad + " is not finite");
        }
    }

    private static final Thread OTHER = new Thread(() -> {});

    private static boolean shared(MixCrossEntropy.Call c, MemorySegment rowLoss) {
        for (MemorySegment s : new MemorySegment[]{c.strong.data(), c.weak.data(), c.labels, rowLoss, c.lse,
                c.entropy, c.gradStrong == null ? null : c.gradStrong.data(),
                c.gradWeak == null ? null : c.gradWeak.data()}) {
            if (s != null && !s.isAccessibleBy(OTHER)) return false;
        }
        return true;
    }

    private static long label(MemorySegment labels, long r) {
        return labels.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, r);
    }

    private static double mix(MixCrossEntropy.Call c, long r, long v) {
        if (c.lambda == 1f) return c.strong.get(r, v);
        if (c.lambda == 0f) return c.weak.get(r, v);
        return (double) c.lambda * c.strong.get(r, v) + (1.0 - c.lambda) * c.weak.get(r, v);
    }

    private static void put(MemorySegment s, long r, double v) {
        if (s != null) s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, r, (float) v);
    }

    private static void fill(Logits g, long r, double v) {
        if (g == null) return;
        for (long i = 0; i < g.vocab(); i++) g.set(r, i, (float) v);
    }

    /** One row; true if its outputs are not finite. */
    private static boolean row(MixCrossEntropy.Call c, float invNorm, MemorySegment rowLoss, long r) {
        long vocab = c.strong.vocab();
        long y = label(c.labels, r);
        boolean labelled = y != MixCrossEntropy.IGNORE_INDEX;
        if (!labelled) {
            put(rowLoss, r, 0);
            fill(c.gradStrong, r, 0);
            fill(c.gradWeak, r, 0);
            if (c.lse == null && c.entropy == null) return false;
        }
        double zy = labelled ? mix(c, r, y) : 0; // before an in-place write
        double max = Double.NEGATIVE_INFINITY;
        boolean nan = false;
        for (long v = 0; v < vocab; v++) {
            double z = mix(c, r, v);
            if (Double.isNaN(z)) nan = true;
            else if (z > max) max = z;
        }
        boolean undefined = nan || Double.isInfinite(max);
        double sum = 0, tsum = 0;
        if (!undefined) {
            for (long v = 0; v < vocab; v++) {
                double d = mix(c, r, v) - max, e = Math.exp(d);
                sum += e;
                if (e > 0) tsum += e * d;
            }
        }
        put(c.lse, r, undefined ? Double.NaN : max + Math.log(sum));
        put(c.entropy, r, undefined ? Double.NaN : Math.log(sum) - tsum / sum);
        if (!labelled) return undefined;
        if (undefined) {
            put(rowLoss, r, Double.NaN);
            fill(c.gradStrong, r, Double.NaN);
            fill(c.gradWeak, r, Double.NaN);
            return true;
        }
        double loss = (max - zy) + Math.log(sum);
        put(rowLoss, r, loss);
        double ks = (double) c.lambda * invNorm, kw = (1.0 - c.lambda) * invNorm;
        if (c.gradStrong != null || c.gradWeak != null) {
            for (long v = 0; v < vocab; v++) {
                double p = Math.exp((v == y ? zy : mix(c, r, v)) - max) / sum, g = v == y ? p - 1 : p;
                if (c.gradStrong != null) c.gradStrong.set(r, v, (float) (ks * g));
                if (c.gradWeak != null) c.gradWeak.set(r, v, (float) (kw * g));
            }
        }
        return Double.isInfinite(loss);
    }
}
