package dev.wmss.train.select;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/** WD-DS weights against values computed by hand, both variants, and the seeded draws. */
class SelectionTest {
    // H0 (weak) and H1 (strong) of four examples: dH = H1 - H0 = -1, -0.5, +0.5, 0.
    static final double[] H0 = {2.0, 1.5, 0.5, 1.0}, H1 = {1.0, 1.0, 1.0, 1.0};

    @Test
    void codeVariantByHand() {
        // sum H0 = 5; [-dH]+ = 1, .5, 0, 0 (sum 1.5); [dH]+ = 0, 0, .5, 0 (sum .5)
        // p = .1*H0/5 + .8*[-dH]+/1.5 + .1*[dH]+/.5 = (.04 + .53333, .03 + .26667, .01 + .1, .02)
        double[] p = Selection.weights(H0, H1, 0.1, 0.8, 0.1, Selection.Variant.CODE);
        double[] raw = {0.04 + 0.8 / 1.5, 0.03 + 0.4 / 1.5, 0.01 + 0.1, 0.02};
        double s = raw[0] + raw[1] + raw[2] + raw[3]; // 1.0 exactly: each term group sums to its coefficient
        assertEquals(1.0, s, 1e-12);
        for (int i = 0; i < 4; i++) assertEquals(raw[i] / s, p[i], 1e-12, "p[" + i + "]");
    }

    @Test
    void paperVariantByHand() {
        // p ~ .1*[-dH]+ + .8*H1 + .1*[dH]+ = (.1 + .8, .05 + .8, .8 + .05, .8) = (.9, .85, .85, .8), sum 3.4
        double[] p = Selection.weights(H0, H1, 0.1, 0.8, 0.1, Selection.Variant.PAPER);
        double[] expected = {0.9 / 3.4, 0.85 / 3.4, 0.85 / 3.4, 0.8 / 3.4};
        assertArrayEquals(expected, p, 1e-12);
    }

    @Test
    void zeroSumsUseTheEpsilonAndAllZeroFallsBackToUniform() {
        // no entropy drop anywhere: the [-dH]+ group is 0 / 1e-12 = 0, the others carry the weight
        double[] p = Selection.weights(new double[]{1, 1}, new double[]{2, 1}, 0.1, 0.8, 0.1, Selection.Variant.CODE);
        assertArrayEquals(new double[]{(0.05 + 0.1) / 0.2, 0.05 / 0.2}, p, 1e-12);
        assertArrayEquals(new double[]{0.5, 0.5},
                Selection.weights(new double[]{0, 0}, new double[]{0, 0}, 0.1, 0.8, 0.1, Selection.Variant.CODE), 0);
        assertThrows(IllegalArgumentException.class,
                () -> Selection.weights(new double[]{1}, new double[]{Double.NaN}, 0.1, 0.8, 0.1, Selection.Variant.PAPER));
    }

    @Test
    void drawsAreSeededAndFollowTheWeights() {
        double[] p = {0.7, 0.0, 0.2, 0.1};
        int[] a = Selection.sample(p, 10_000, 42, false), b = Selection.sample(p, 10_000, 42, false);
        assertArrayEquals(a, b);
        int[] count = new int[4];
        for (int i : a) count[i]++;
        assertEquals(0, count[1], "zero weight is never drawn");
        assertEquals(7000, count[0], 200);
        assertEquals(2000, count[2], 150);
        int[] d = Selection.sample(p, 10_000, 42, true);
        assertEquals(3, d.length, "dedup keeps each drawn example once");
    }
}
