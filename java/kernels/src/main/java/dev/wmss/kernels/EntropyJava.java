package dev.wmss.kernels;

import dev.wmss.kernels.error.LabelOutOfRangeException;
import dev.wmss.kernels.error.NonFiniteException;
import dev.wmss.kernels.error.Status;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The entropy op in plain Java with double arithmetic throughout: the reference the native kernels are tested
 * against, written independently of ce_mix's reference. Same contract and edge cases as {@code wmss_entropy}: a row
 * without a distribution (a NaN or +inf logit, or every logit −inf) gives NaN statistics and counts as non-finite,
 * ignored rows included; a labelled row whose label's logit is −inf has an infinite NLL. Host logits only.
 */
final class EntropyJava implements EntropyBackend {
    @Override
    public String name() {
        return "java";
    }

    @Override
    public boolean accepts(EntropyArgs args) {
        return !args.onDevice();
    }

    @Override
    public void run(EntropyArgs a) {
        requireAccepts(a);
        Logits.Host z = (Logits.Host) a.z();
        long rows = a.rows(), vocab = a.vocab();
        if (a.labels() != null) {
            for (long r = 0; r < rows; r++) {
                long y = label(a.labels(), r);
                if (y != CeMix.IGNORE_INDEX && (y < 0 || y >= vocab)) {
                    throw new LabelOutOfRangeException(Status.LABEL, "labels[" + r + "] = " + y + " is outside [0, "
                            + vocab + ") and not the ignore index -100");
                }
            }
        }
        long firstBad = -1;
        for (long r = 0; r < rows; r++) {
            double max = Double.NEGATIVE_INFINITY;
            boolean nan = false;
            for (long v = 0; v < vocab; v++) {
                double x = z.get(r, v);
                if (Double.isNaN(x)) nan = true;
                else if (x > max) max = x;
            }
            boolean undefined = nan || Double.isInfinite(max);
            double sum = 0, weighted = 0; // sum e^(x - max), sum e^(x - max) (x - max)
            if (!undefined) {
                for (long v = 0; v < vocab; v++) {
                    double d = z.get(r, v) - max, e = Math.exp(d);
                    sum += e;
                    if (e > 0) weighted += e * d;
                }
            }
            double lse = undefined ? Double.NaN : max + Math.log(sum);
            put(a.entropy(), r, undefined ? Double.NaN : Math.log(sum) - weighted / sum);
            put(a.lse(), r, lse);
            boolean bad = undefined;
            if (a.labels() != null) {
                long y = label(a.labels(), r);
                // (max - z[y]) + log sum, not lse - z[y]: at logits near float's range lse and z[y] cancel
                double nll = y == CeMix.IGNORE_INDEX ? 0 : undefined ? Double.NaN : (max - z.get(r, y)) + Math.log(sum);
                put(a.nll(), r, nll);
                bad |= !Float.isFinite((float) nll); // as stored: beyond float's range is infinite
            }
            if (bad && firstBad < 0) firstBad = r;
        }
        if (firstBad >= 0 && !a.allowNonFinite()) {
            throw new NonFiniteException(Status.NONFINITE, "row " + firstBad + " is not finite");
        }
    }

    private static long label(MemorySegment labels, long r) {
        return labels.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, r);
    }

    private static void put(MemorySegment s, long r, double v) {
        if (s != null) s.setAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, r, (float) v);
    }
}
