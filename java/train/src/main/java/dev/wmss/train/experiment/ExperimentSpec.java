package dev.wmss.train.experiment;

import java.util.Arrays;

/**
 * The experiment's sizes and settings (all recorded in experiment.json; a resumed experiment must match them).
 *
 * @param lmTexts   plain-text problems the base model M0 is trained on as a language model (no answer format)
 * @param lmEpochs  its epochs
 * @param train     SFT examples per seed (a different draw each seed, none of them a test problem)
 * @param test      held-out problems, shared by every seed and arm (paired)
 * @param m1Epochs  SFT epochs that make M1 from M0 (the control trains m1Epochs + 1 in one schedule)
 * @param seeds     paired seeds: each its own SFT set, M1 and order; M0 is shared
 * @param validate  test problems on which teacher-forced exact match is checked against greedy decoding
 * @param lmLr      M0's learning rate (warm-up and cosine); lr: M1's and every second stage's (linear decay)
 * @param sweep     lambdas of the joint-only sweep
 */
public record ExperimentSpec(int lmTexts, int lmEpochs, int train, int test, int m1Epochs, int seeds, int levels,
                             int hidden, int layers, int batch, int maxLen, int validate, double lmLr, double lr,
                             float lambda, float[] sweep, long dataSeed, int logEvery) {
    public static final ExperimentSpec FULL = new ExperimentSpec(6000, 3, 400, 1500, 4, 5, 2, 128, 3, 32, 200, 400,
            3e-3, 1e-3, 0.5f, new float[]{0.3f, 0.5f, 0.7f, 0.9f}, 1, 2);
    public static final ExperimentSpec QUICK = new ExperimentSpec(200, 1, 48, 40, 2, 2, 2, 32, 1, 16, 200, 16,
            3e-3, 1e-3, 0.5f, new float[]{0.3f, 0.5f}, 1, 1);

    public ExperimentSpec {
        for (int v : new int[]{lmTexts, lmEpochs, train, test, m1Epochs, seeds, hidden, layers, batch, maxLen}) {
            if (v < 1) throw new IllegalArgumentException("every size must be >= 1: " + this);
        }
        if (levels < 1 || levels > 3) throw new IllegalArgumentException("--levels must be 1, 2 or 3, got " + levels);
        if (validate < 0 || validate > test) throw new IllegalArgumentException("--validate must be in [0, test], got " + validate);
        if (!(lambda > 0 && lambda < 1)) throw new IllegalArgumentException("--lambda must be in (0, 1), got " + lambda);
        for (float l : sweep) if (!(l > 0 && l <= 1)) throw new IllegalArgumentException("sweep lambdas must be in (0, 1], got " + l);
        if (hidden % 4 != 0) throw new IllegalArgumentException("--hidden must be a multiple of 4 (heads), got " + hidden);
    }

    public ExperimentSpec withSeeds(int n) {
        return new ExperimentSpec(lmTexts, lmEpochs, train, test, m1Epochs, n, levels, hidden, layers, batch, maxLen,
                validate, lmLr, lr, lambda, sweep, dataSeed, logEvery);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ExperimentSpec s && toString().equals(s.toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    @Override
    public String toString() {
        return "ExperimentSpec[lmTexts=" + lmTexts + ", lmEpochs=" + lmEpochs + ", train=" + train + ", test=" + test
                + ", m1Epochs=" + m1Epochs + ", seeds=" + seeds + ", levels=" + levels + ", hidden=" + hidden + ", layers="
                + layers + ", batch=" + batch + ", maxLen=" + maxLen + ", validate=" + validate + ", lmLr=" + lmLr + ", lr="
                + lr + ", lambda=" + lambda + ", sweep=" + Arrays.toString(sweep) + ", dataSeed=" + dataSeed + ", logEvery="
                + logEvery + "]";
    }
}
