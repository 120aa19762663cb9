package dev.wmss.train.experiment;

import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The experiment's sizes and settings (all recorded in experiment.json; a resumed experiment must match them).
 *
 * @param lmTexts   plain-text problems the base model M0 is trained on as a language model (no answer format)
 * @param lmEpochs  its epochs (batches of {@link #LM_BATCH})
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
    public static final int LM_BATCH = 32;
    public static final ExperimentSpec FULL = new ExperimentSpec(6000, 3, 400, 1500, 12, 5, 1, 128, 3, 16, 200, 400,
            3e-3, 2e-3, 0.5f, new float[]{0.3f, 0.5f, 0.7f, 0.9f}, 1, 2);
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
        if (!(lr > 0 && lr < 1) || !(lmLr > 0 && lmLr < 1)) throw new IllegalArgumentException("--lr must be in (0, 1), got " + lr);
        if (hidden % 4 != 0) throw new IllegalArgumentException("--hidden must be a multiple of 4 (heads), got " + hidden);
    }

    public ExperimentSpec withSeeds(int n) {
        return with(Map.of("seeds", n));
    }

    /**
     * This spec with some sizes replaced, by name: lmTexts, lmEpochs, train, test, m1Epochs, seeds, levels, batch
     * (integers) and lr (a double); an unknown name is an error.
     */
    public ExperimentSpec with(Map<String, Number> v) {
        for (String k : v.keySet()) {
            if (!List.of("lmTexts", "lmEpochs", "train", "test", "m1Epochs", "seeds", "levels", "batch", "lr").contains(k)) {
                throw new IllegalArgumentException("no experiment size named " + k);
            }
        }
        return new ExperimentSpec(i(v, "lmTexts", lmTexts), i(v, "lmEpochs", lmEpochs), i(v, "train", train),
                i(v, "test", test), i(v, "m1Epochs", m1Epochs), i(v, "seeds", seeds), i(v, "levels", levels), hidden, layers,
                i(v, "batch", batch), maxLen, Math.min(validate, i(v, "test", test)), lmLr,
                v.containsKey("lr") ? v.get("lr").doubleValue() : lr, lambda, sweep, dataSeed, logEvery);
    }

    /** The option that sets a field (the others come with --quick or not). */
    private static final Map<String, String> OPTIONS = Map.of("seeds", "--seeds", "train", "--train", "test", "--test",
            "m1Epochs", "--m1-epochs", "lr", "--lr", "batch", "--batch", "levels", "--levels");

    /**
     * "--seeds: experiment 2, now 3" for each field in which this spec differs from a recorded one (its
     * {@link #toString}); fields no option sets are named as they are, with --quick as the likely cause.
     */
    public static List<String> differences(String recorded, ExperimentSpec now) {
        Map<String, String> was = fields(recorded), is = fields(now.toString());
        List<String> out = new java.util.ArrayList<>();
        for (var e : is.entrySet()) {
            String w = was.get(e.getKey());
            if (e.getValue().equals(w)) continue;
            String name = OPTIONS.getOrDefault(e.getKey(), e.getKey() + " (set by --quick or not)");
            out.add(name + ": experiment " + (w == null ? "(not recorded)" : w) + ", now " + e.getValue());
        }
        return out;
    }

    private static Map<String, String> fields(String spec) {
        Map<String, String> m = new java.util.LinkedHashMap<>();
        java.util.regex.Matcher x = java.util.regex.Pattern.compile("(\\w+)=(\\[[^\\]]*\\]|[^,\\]]*)").matcher(spec);
        while (x.find()) m.put(x.group(1), x.group(2));
        return m;
    }

    private static int i(Map<String, Number> v, String k, int dflt) {
        return v.containsKey(k) ? v.get(k).intValue() : dflt;
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
