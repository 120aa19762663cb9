package dev.wmss.train.experiment;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Against SciPy 1.17.1 (Debian python3-scipy); each value was printed by the command in the comment beside it,
 * with {@code import scipy.stats as st}.
 */
class PairedStatsTest {
    @Test
    void pairedDifferenceHasTheStudentIntervalOfScipysPairedTTest() {
        // r = st.ttest_rel([0.5, 0.6, 0.7], [0.4, 0.4, 0.4]).confidence_interval(0.95); r.low, r.high
        //   -> -0.04841377117503298 0.4484137711750329
        PairedStats.Difference d = PairedStats.difference(new double[]{0.5, 0.6, 0.7}, new double[]{0.4, 0.4, 0.4});
        assertEquals(0.2, d.mean(), 1e-12);
        assertEquals(0.1 / Math.sqrt(3), d.se(), 1e-12); // differences 0.1, 0.2, 0.3: sd 0.1
        assertEquals(-0.04841377117503298, d.lo(), 1e-9);
        assertEquals(0.4484137711750329, d.hi(), 1e-9);
        assertFalse(d.positive(), "the interval contains 0");
        // st.ttest_rel([0.5, 0.55, 0.6], [0.4, 0.4, 0.4]).confidence_interval(0.95) -> 0.025793114412483525 0.2742068855875165
        PairedStats.Difference tight = PairedStats.difference(new double[]{0.5, 0.55, 0.6}, new double[]{0.4, 0.4, 0.4});
        assertEquals(0.025793114412483525, tight.lo(), 1e-9);
        assertEquals(0.2742068855875165, tight.hi(), 1e-9);
        assertTrue(tight.positive());
        // a = [0.61, 0.58, 0.64, 0.66, 0.59]; b = [0.55, 0.57, 0.60, 0.61, 0.60]
        // st.ttest_rel(a, b).confidence_interval(0.95) -> -0.006200415215437141 0.06620041521543715
        // st.sem(np.subtract(a, b)) -> 0.013038404810405297
        PairedStats.Difference five = PairedStats.difference(new double[]{0.61, 0.58, 0.64, 0.66, 0.59},
                new double[]{0.55, 0.57, 0.60, 0.61, 0.60});
        assertEquals(0.013038404810405297, five.se(), 1e-12);
        assertEquals(-0.006200415215437141, five.lo(), 1e-9);
        assertEquals(0.06620041521543715, five.hi(), 1e-9);
        PairedStats.Difference wide = PairedStats.difference(new double[]{0.5, 0.3}, new double[]{0.4, 0.4});
        assertEquals(0, wide.mean(), 1e-12);
        assertFalse(wide.positive());
        PairedStats.Difference one = PairedStats.difference(new double[]{0.5}, new double[]{0.4});
        assertTrue(Double.isNaN(one.se()) && !one.positive(), "one seed has no interval");
        assertThrows(IllegalArgumentException.class, () -> PairedStats.difference(new double[]{1}, new double[]{1, 2}));
    }

    @Test
    void tQuantilesAreScipys() {
        // for df in [1, 2, 4, 10, 30, 31, 100, 1000]: st.t.ppf(0.975, df)
        int[] df = {1, 2, 4, 10, 30, 31, 100, 1000};
        double[] scipy = {12.706204736174694, 4.302652729749462, 2.7764451051977934, 2.228138851986274,
                2.0422724563012378, 2.039513446396408, 1.9839715185235518, 1.9623390808264083};
        for (int i = 0; i < df.length; i++) assertEquals(scipy[i], PairedStats.t975(df[i]), 1e-8, "df " + df[i]);
        assertThrows(IllegalArgumentException.class, () -> PairedStats.t975(0));
    }

    @Test
    void mcnemarIsScipysExactBinomialTestOfTheDiscordantPairs() {
        // for a, b in [...]: st.binomtest(min(a, b), a + b, 0.5).pvalue
        assertEquals(1, PairedStats.mcnemarP(0, 0));
        assertEquals(0.0625, PairedStats.mcnemarP(5, 0), 1e-12);
        assertEquals(0.0625, PairedStats.mcnemarP(0, 5), 1e-12);
        assertEquals(0.109375, PairedStats.mcnemarP(8, 2), 1e-12);
        assertEquals(1.0, PairedStats.mcnemarP(3, 3), 1e-12);
        assertEquals(1.0, PairedStats.mcnemarP(0, 1), 1e-12);
        assertEquals(0.016673847800120715, PairedStats.mcnemarP(10, 25), 1e-12);
        assertEquals(0.007197380065917969, PairedStats.mcnemarP(17, 4), 1e-12);
        assertEquals(6.593515598672343e-05, PairedStats.mcnemarP(5200, 4800), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> PairedStats.mcnemarP(-1, 2));
    }
}
