package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.LabelOutOfRangeException;
import dev.wmss.kernels.error.NonFiniteException;
import dev.wmss.kernels.error.Status;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.stream.LongStream;

/**
 * ce_mix in plain Java with double arithmetic throughout: the reference the native kernels are tested against.
 * Same contract and edge cases as the native op, rows in parallel. Runs on host logits, heap segments included.
 */
final class CeMixJava implements CeMixBackend {
    @Override
    public String name() {
        return "java";
    }

    @Override
    public boolean accepts(CeMixArgs args) {
        return !args.onDevice();
    }

    @Override
    public double run(CeMixArgs a) {
        requireAccepts(a);
        long rows = a.rows(), vocab = a.vocab();
        float invNorm = a.effectiveInvNorm();
        if (!(a.lambda() >= 0f && a.lambda() <= 1f)) {
            throw new InvalidArgumentException(Status.ARGUMENT, "lambda = " + a.lambda() + " is outside [0, 1]");
        }
        if (!(invNorm >= 0f) || Float.isInfinite(invNorm)) {
            throw new InvalidArgumentException(Status.ARGUMENT, "inv_norm = " + invNorm + " must be finite and >= 0");
        }
        for (long r = 0; r < rows; r++) {
            long y = label(a.labels(), r);
            if (y != CeMix.IGNORE_INDEX && (y < 0 || y >= vocab)) {
                throw new LabelOutOfRangeException(Status.LABEL, "labels[" + r + "] = " + y + " is outside [0, "
                        + vocab + ") and not the ignore index -100");
            }
        }
        try (Arena arena = Arena.ofShared()) {
            MemorySegment loss = a.rowLoss() != null ? a.rowLoss() : arena.allocate(Math.max(4, rows * 4), 8);
            Rows job = new Rows(a, invNorm, loss);
            LongStream all = LongStream.range(0, rows);
            if (shared(a)) all = all.parallel(); // confined segments stay on the calling thread
            long firstBad = all.filter(job::row).min().orElse(-1);
            if (firstBad >= 0 && !a.allowNonFinite()) {
                throw new NonFiniteException(Status.NONFINITE, "row " + firstBad + " is not finite");
            }
            return CeMixCpu.sum(loss, rows) * invNorm;
        }
    }

    private static final Thread OTHER = new Thread(() -> {});

    private static boolean shared(CeMixArgs a) {
        for (MemorySegment s : a.buffers()) if (s != null && !s.isAccessibleBy(OTHER)) return false;
        return true;
    }

    private static long label(MemorySegment labels, long r) {
        return labels.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, r);
    }

    /** The rows of one call. */
    private record Rows(CeMixArgs a, float invNorm, MemorySegment loss) {
        Logits.Host strong() {
            return (Logits.Host) a.strong();
        }

        double mix(long r, long v) {
            if (a.lambda() == 1f) return strong().get(r, v);
            if (a.lambda() == 0f) return ((Logits.Host) a.weak()).get(r, v);
            return (double) a.lambda() * strong().get(r, v) + (1.0 - a.lambda()) * ((Logits.Host) a.weak()).get(r, v);
        }

        static void put(MemorySegment s, long r, double v) {
            if (s != null) s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, r, (float) v);
        }

        static void fill(Logits g, long r, double v) {
            if (g == null) return;
            for (long i = 0; i < g.vocab(); i++) ((Logits.Host) g).set(r, i, (float) v);
        }

        /** One row; true if its outputs are not finite. */
        boolean row(long r) {
            long vocab = a.vocab();
            long y = label(a.labels(), r);
            boolean labelled = y != CeMix.IGNORE_INDEX;
            if (!labelled && a.lse() == null && a.entropy() == null) {
                put(loss, r, 0);
                fill(a.gradStrong(), r, 0);
                fill(a.gradWeak(), r, 0);
                return false;
            }
            double zy = labelled ? mix(r, y) : 0; // before an in-place write
            double max = Double.NEGATIVE_INFINITY;
            boolean nan = false;
            for (long v = 0; v < vocab; v++) {
                double z = mix(r, v);
                if (Double.isNaN(z)) nan = true;
                else if (z > max) max = z;
            }
            boolean undefined = nan || Double.isInfinite(max);
            double sum = 0, tsum = 0;
            if (!undefined) {
                for (long v = 0; v < vocab; v++) {
                    double d = mix(r, v) - max, e = Math.exp(d);
                    sum += e;
                    if (e > 0) tsum += e * d;
                }
            }
            put(a.lse(), r, undefined ? Double.NaN : max + Math.log(sum));
            put(a.entropy(), r, undefined ? Double.NaN : Math.log(sum) - tsum / sum);
            if (!labelled) { // cleared after the statistics read the row (in place)
                put(loss, r, 0);
                fill(a.gradStrong(), r, 0);
                fill(a.gradWeak(), r, 0);
                return undefined;
            }
            if (undefined) {
                put(loss, r, Double.NaN);
                fill(a.gradStrong(), r, Double.NaN);
                fill(a.gradWeak(), r, Double.NaN);
                return true;
            }
            double rowLoss = (max - zy) + Math.log(sum);
            put(loss, r, rowLoss);
            double ks = (double) a.lambda() * invNorm, kw = (1.0 - a.lambda()) * invNorm;
            if (a.gradStrong() != null || a.gradWeak() != null) {
                for (long v = 0; v < vocab; v++) {
                    double p = Math.exp((v == y ? zy : mix(r, v)) - max) / sum, g = v == y ? p - 1 : p;
                    if (a.gradStrong() != null) ((Logits.Host) a.gradStrong()).set(r, v, (float) (ks * g));
                    if (a.gradWeak() != null) ((Logits.Host) a.gradWeak()).set(r, v, (float) (kw * g));
                }
            }
            return !Float.isFinite((float) rowLoss); // as stored: a loss beyond float's range is infinite
        }
    }
}
