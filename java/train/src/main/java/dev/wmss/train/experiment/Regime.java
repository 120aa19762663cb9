package dev.wmss.train.experiment;

/**
 * What one seed's M0 and M1 look like before any arm runs, and the gates that say whether the regime can test the
 * method: the strong model is more certain than the weak one on most examples (ΔH = H1 − H0 < 0 on at least 70%),
 * SFT taught the task (M1 − M0 at least 10 points), and M1 is near saturation on its training set (train exact
 * match at least test + 15 points, or train token loss at most half the test loss).
 *
 * @param draw     the WD-DS (authors' code variant) draw over the seed's training set
 */
public record Regime(int seed, Scores m0Test, Scores m1Test, Scores m0Train, Scores m1Train, double h0, double h1,
                     double shareNegativeDh, int[] draw, int unique) {
    public static final double MIN_SHARE_NEGATIVE = 0.70, MIN_GAIN = 0.10, MIN_TRAIN_LEAD = 0.15;

    public boolean entropyGate() {
        return shareNegativeDh >= MIN_SHARE_NEGATIVE;
    }

    public boolean gainGate() {
        return m1Test.exactMatch() - m0Test.exactMatch() >= MIN_GAIN;
    }

    public boolean saturationGate() {
        return m1Train.exactMatch() >= m1Test.exactMatch() + MIN_TRAIN_LEAD || m1Train.tokenLoss() <= m1Test.tokenLoss() / 2;
    }

    public boolean passes() {
        return entropyGate() && gainGate() && saturationGate();
    }
}
