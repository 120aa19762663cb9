package dev.wmss.train.select;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * WD-DS: sampling weights from the per-example mean answer entropies under the weak model (H0) and the strong
 * model (H1), dH = H1 - H0, and the draw of the active set.
 * <ul>
 * <li>{@link Variant#CODE} (the authors' code, default): p = a*H0/sum(H0) + b*[-dH]+/sum([-dH]+) + c*[dH]+/sum([dH]+),
 * each sum replaced by 1e-12 when zero, renormalised; |D| draws with replacement, repeats kept.</li>
 * <li>{@link Variant#PAPER} (arXiv v2): p ~ a*[-dH]+ + b*H1 + c*[dH]+; |D| draws with replacement, deduplicated.</li>
 * </ul>
 * All-zero weights fall back to uniform. Defaults a, b, c = 0.1, 0.8, 0.1. {@link Variant#NONE}: no selection, every
 * example once (the control of the selection; it has no weights).
 */
public final class Selection {
    public enum Variant {
        CODE, PAPER, NONE;

        /** Whether the draws are deduplicated: the paper's variant only. */
        public boolean dedup() {
            return this == PAPER;
        }
    }

    public static final double ALPHA = 0.1, BETA = 0.8, GAMMA = 0.1;

    private Selection() {}

    public static double[] weights(double[] h0, double[] h1, double alpha, double beta, double gamma, Variant variant) {
        if (h0.length != h1.length) throw new IllegalArgumentException("H0 and H1 differ in length");
        if (variant == Variant.NONE) throw new IllegalArgumentException("no selection (NONE) has no weights");
        int n = h0.length;
        double[] p = new double[n];
        if (variant == Variant.CODE) {
            double s0 = 0, sDec = 0, sInc = 0;
            for (int i = 0; i < n; i++) {
                double d = h1[i] - h0[i];
                s0 += h0[i];
                sDec += Math.max(-d, 0);
                sInc += Math.max(d, 0);
            }
            s0 = s0 == 0 ? 1e-12 : s0;
            sDec = sDec == 0 ? 1e-12 : sDec;
            sInc = sInc == 0 ? 1e-12 : sInc;
            for (int i = 0; i < n; i++) {
                double d = h1[i] - h0[i];
                p[i] = alpha * h0[i] / s0 + beta * Math.max(-d, 0) / sDec + gamma * Math.max(d, 0) / sInc;
            }
        } else {
            for (int i = 0; i < n; i++) {
                double d = h1[i] - h0[i];
                p[i] = alpha * Math.max(-d, 0) + beta * h1[i] + gamma * Math.max(d, 0);
            }
        }
        double sum = 0;
        for (double v : p) {
            if (!(v >= 0) || Double.isInfinite(v)) throw new IllegalArgumentException("entropies must be finite and >= 0");
            sum += v;
        }
        if (sum == 0) Arrays.fill(p, 1.0 / n);
        else for (int i = 0; i < n; i++) p[i] /= sum;
        return p;
    }

    /** The active set: weights of the variant, then |D| seeded draws (deduplicated when dedup); NONE: every index once. */
    public static int[] select(double[] h0, double[] h1, Variant v, double alpha, double beta, double gamma, long seed,
                               boolean dedup) {
        if (v == Variant.NONE) return java.util.stream.IntStream.range(0, h0.length).toArray();
        return sample(weights(h0, h1, alpha, beta, gamma, v), h0.length, seed, dedup);
    }

    /** n draws with replacement from p (seeded); deduplicated (first-draw order) when dedup. */
    public static int[] sample(double[] p, int n, long seed, boolean dedup) {
        double[] cdf = new double[p.length];
        double acc = 0;
        for (int i = 0; i < p.length; i++) cdf[i] = acc += p[i];
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] out = new int[n];
        for (int k = 0; k < n; k++) {
            double u = rnd.nextDouble() * acc;
            int i = Arrays.binarySearch(cdf, u);
            i = i >= 0 ? i + 1 : -i - 1;
            while (i < p.length - 1 && p[i] == 0) i++; // never land on a zero-weight example
            out[k] = Math.min(i, p.length - 1);
        }
        if (!dedup) return out;
        Set<Integer> seen = new LinkedHashSet<>();
        for (int i : out) seen.add(i);
        return seen.stream().mapToInt(Integer::intValue).toArray();
    }
}
