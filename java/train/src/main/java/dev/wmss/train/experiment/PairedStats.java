package dev.wmss.train.experiment;

import org.apache.commons.math3.distribution.BinomialDistribution;
import org.apache.commons.math3.distribution.TDistribution;
import org.apache.commons.math3.stat.StatUtils;

/**
 * Statistics of paired comparisons between two arms: over seeds, the mean of the per-seed differences with its
 * standard error and a 95% Student-t interval; over problems (pooled across seeds), McNemar's exact test on the
 * discordant pairs. The distributions are Apache Commons Math's.
 */
public final class PairedStats {
    private PairedStats() {}

    /** mean, standard error, the 95% interval [lo, hi] and the number of pairs. */
    public record Difference(double mean, double se, double lo, double hi, int n) {
        /** The interval lies above 0. */
        public boolean positive() {
            return n > 1 && lo > 0;
        }
    }

    /** The paired differences a[i] − b[i]. One pair has no standard error (NaN). */
    public static Difference difference(double[] a, double[] b) {
        if (a.length != b.length || a.length == 0) {
            throw new IllegalArgumentException("paired samples need the same positive length, got " + a.length + " and " + b.length);
        }
        int n = a.length;
        double[] d = new double[n];
        for (int i = 0; i < n; i++) d[i] = a[i] - b[i];
        double mean = StatUtils.mean(d);
        if (n == 1) return new Difference(mean, Double.NaN, Double.NaN, Double.NaN, 1);
        double se = Math.sqrt(StatUtils.variance(d, mean) / n), t = t975(n - 1);
        return new Difference(mean, se, mean - t * se, mean + t * se, n);
    }

    /** The 0.975 quantile of Student's t with df degrees of freedom. */
    public static double t975(int df) {
        if (df < 1) throw new IllegalArgumentException("df must be >= 1, got " + df);
        return new TDistribution(null, df).inverseCumulativeProbability(0.975);
    }

    /**
     * McNemar's exact test: onlyA = problems right under A and wrong under B, onlyB the reverse. Two-sided p of the
     * binomial(onlyA + onlyB, 1/2) test; 1 when there is no discordant pair.
     */
    public static double mcnemarP(long onlyA, long onlyB) {
        if (onlyA < 0 || onlyB < 0) throw new IllegalArgumentException("counts must be >= 0");
        long n = onlyA + onlyB;
        if (n == 0) return 1;
        if (n > Integer.MAX_VALUE) throw new IllegalArgumentException("too many discordant pairs: " + n);
        // twice the lower tail, as the binomial(n, 1/2) is symmetric (Commons Math 3.6.1's BinomialTest sums the
        // middle outcome twice when onlyA == onlyB and answers more than 1)
        return Math.min(1, 2 * new BinomialDistribution(null, (int) n, 0.5).cumulativeProbability((int) Math.min(onlyA, onlyB)));
    }
}
