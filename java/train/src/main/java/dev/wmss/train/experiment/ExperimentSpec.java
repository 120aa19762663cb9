package dev.wmss.train.experiment;

import dev.wmss.train.settings.Setting;
import dev.wmss.train.settings.SettingsDiff;

import java.util.List;

/**
 * The experiment's sizes and settings (all recorded in experiment.json; a resumed experiment must match them). Each
 * component names the option that sets it ({@link Setting}); the others come with --quick or not. Change some with
 * {@link #toBuilder}.
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
public record ExperimentSpec(
        @Setting("lmTexts (set by --quick or not)") int lmTexts,
        @Setting("lmEpochs (set by --quick or not)") int lmEpochs,
        @Setting("--train-size") int train,
        @Setting("--test") int test,
        @Setting("--m1-epochs") int m1Epochs,
        @Setting("--seeds") int seeds,
        @Setting("--levels") int levels,
        @Setting("hidden (set by --quick or not)") int hidden,
        @Setting("layers (set by --quick or not)") int layers,
        @Setting("--batch") int batch,
        @Setting("maxLen (set by --quick or not)") int maxLen,
        @Setting("validate (set by --quick or not)") int validate,
        @Setting("lmLr (set by --quick or not)") double lmLr,
        @Setting("--lr") double lr,
        @Setting("lambda (set by --quick or not)") float lambda,
        @Setting("sweep (set by --quick or not)") List<Float> sweep,
        @Setting("dataSeed (set by --quick or not)") long dataSeed,
        @Setting("logEvery (set by --quick or not)") int logEvery) {
    public static final int LM_BATCH = 32;
    public static final ExperimentSpec FULL = new ExperimentSpec(6000, 3, 400, 1500, 12, 5, 1, 128, 3, 16, 200, 400,
            3e-3, 2e-3, 0.5f, List.of(0.3f, 0.5f, 0.7f, 0.9f), 1, 2);
    public static final ExperimentSpec QUICK = new ExperimentSpec(200, 1, 48, 40, 2, 2, 2, 32, 1, 16, 200, 16,
            3e-3, 1e-3, 0.5f, List.of(0.3f, 0.5f), 1, 1);

    public ExperimentSpec {
        sweep = List.copyOf(sweep);
        atLeastOne("lmTexts", lmTexts);
        atLeastOne("lmEpochs", lmEpochs);
        atLeastOne("train", train);
        atLeastOne("test", test);
        atLeastOne("m1Epochs", m1Epochs);
        atLeastOne("seeds", seeds);
        atLeastOne("hidden", hidden);
        atLeastOne("layers", layers);
        atLeastOne("batch", batch);
        atLeastOne("maxLen", maxLen);
        if (levels < 1 || levels > 3) throw new IllegalArgumentException("--levels must be 1, 2 or 3, got " + levels);
        if (validate < 0 || validate > test) throw new IllegalArgumentException("--validate must be in [0, test], got " + validate);
        if (!(lambda > 0 && lambda < 1)) throw new IllegalArgumentException("--lambda must be in (0, 1), got " + lambda);
        for (float l : sweep) if (!(l > 0 && l <= 1)) throw new IllegalArgumentException("sweep lambdas must be in (0, 1], got " + l);
        if (!(lr > 0 && lr < 1) || !(lmLr > 0 && lmLr < 1)) throw new IllegalArgumentException("--lr must be in (0, 1), got " + lr);
        if (hidden % 4 != 0) throw new IllegalArgumentException("--hidden must be a multiple of 4 (heads), got " + hidden);
    }

    private static void atLeastOne(String component, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(SettingsDiff.name(ExperimentSpec.class, component) + " must be >= 1, got " + value);
        }
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** This spec with the sizes the options set replaced (validate is cut to test). */
    public static final class Builder {
        private final ExperimentSpec from;
        private int train, test, m1Epochs, seeds, levels, batch;
        private double lr;

        private Builder(ExperimentSpec s) {
            from = s;
            train = s.train;
            test = s.test;
            m1Epochs = s.m1Epochs;
            seeds = s.seeds;
            levels = s.levels;
            batch = s.batch;
            lr = s.lr;
        }

        public Builder train(int v) { train = v; return this; }
        public Builder test(int v) { test = v; return this; }
        public Builder m1Epochs(int v) { m1Epochs = v; return this; }
        public Builder seeds(int v) { seeds = v; return this; }
        public Builder levels(int v) { levels = v; return this; }
        public Builder batch(int v) { batch = v; return this; }
        public Builder lr(double v) { lr = v; return this; }

        public ExperimentSpec build() {
            ExperimentSpec f = from;
            return new ExperimentSpec(f.lmTexts, f.lmEpochs, train, test, m1Epochs, seeds, levels, f.hidden, f.layers, batch,
                    f.maxLen, Math.min(f.validate, test), f.lmLr, lr, f.lambda, f.sweep, f.dataSeed, f.logEvery);
        }
    }
}
