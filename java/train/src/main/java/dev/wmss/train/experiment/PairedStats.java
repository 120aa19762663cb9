package dev.wmss.train.experiment;

/**
 * Statistics of paired comparisons between two arms: over seeds, the mean of the per-seed differences with its
 * standard error and a 95% Student-t interval; over problems (pooled across seeds), McNemar's exact test on the
 * discordant pairs.
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
        double mean = 0;
        for (int i = 0; i < n; i++) mean += a[i] - b[i];
        mean /= n;
        if (n == 1) return new Difference(mean, Double.NaN, Double.NaN, Double.NaN, 1);
        double ss = 0;
        for (int i = 0; i < n; i++) ss += Math.pow(a[i] - b[i] - mean, 2);
        double se = Math.sqrt(ss / (n - 1) / n), t = t975(n - 1);
        return new Difference(mean, se, mean - t * se, mean + t * se, n);
    }

    /** The 0.975 quantile of Student's t with df degrees of freedom (a table to 30, then the normal's 1.96 + a term). */
    public static double t975(int df) {
        final double[] table = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179,
                2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052,
                2.048, 2.045, 2.042};
        if (df < 1) throw new IllegalArgumentException("df must be >= 1, got " + df);
        return df <= table.length ? table[df - 1] : 1.95996 + 2.4 / df;
    }

    /**
     * McNemar's exact test: onlyA = problems right under A and wrong under B, onlyB the reverse. Two-sided p of the
     * binomial(onlyA + onlyB, 1/2) test; 1 when there is no discordant pair.
     */
    public static double mcnemarP(long onlyA, long onlyB) {
        if (onlyA < 0 || onlyB < 0) throw new IllegalArgumentException("counts must be >= 0");
        long n = onlyA + onlyB, k = Math.min(onlyA, onlyB);
        if (n == 0) return 1;
        double[] lf = new double[(int) n + 1]; // log k!
        for (int i = 2; i <= n; i++) lf[i] = lf[i - 1] + Math.log(i);
        double tail = 0; // P(X <= k), X ~ Bin(n, 1/2)
        for (int i = 0; i <= k; i++) tail += Math.exp(lf[(int) n] - lf[i] - lf[(int) n - i] - n * Math.log(2));
        return Math.min(1, 2 * tail);
    }
}
