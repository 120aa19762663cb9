package dev.wmss.train.experiment;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class PairedStatsTest {
    @Test
    void pairedDifferenceHasTheStudentInterval() {
        PairedStats.Difference d = PairedStats.difference(new double[]{0.5, 0.6, 0.7}, new double[]{0.4, 0.4, 0.4});
        assertEquals(0.2, d.mean(), 1e-12);
        assertEquals(0.1 / Math.sqrt(3), d.se(), 1e-12); // differences 0.1, 0.2, 0.3: sd 0.1
        assertEquals(0.2 - 4.303 * 0.1 / Math.sqrt(3), d.lo(), 1e-12);
        assertFalse(d.positive(), "the interval [-0.048, 0.448] contains 0");
        PairedStats.Difference tight = PairedStats.difference(new double[]{0.5, 0.55, 0.6}, new double[]{0.4, 0.4, 0.4});
        assertEquals(0.15 - 4.303 * 0.05 / Math.sqrt(3), tight.lo(), 1e-12);
        assertTrue(tight.positive());
        PairedStats.Difference wide = PairedStats.difference(new double[]{0.5, 0.3}, new double[]{0.4, 0.4});
        assertEquals(0, wide.mean(), 1e-12);
        assertFalse(wide.positive());
        PairedStats.Difference one = PairedStats.difference(new double[]{0.5}, new double[]{0.4});
        assertTrue(Double.isNaN(one.se()) && !one.positive(), "one seed has no interval");
        assertThrows(IllegalArgumentException.class, () -> PairedStats.difference(new double[]{1}, new double[]{1, 2}));
    }

    @Test
    void tQuantilesApproachTheNormal() {
        assertEquals(2.776, PairedStats.t975(4), 1e-9);
        assertEquals(1.98, PairedStats.t975(100), 0.01);
        assertThrows(IllegalArgumentException.class, () -> PairedStats.t975(0));
    }

    @Test
    void mcnemarIsTheExactBinomialTestOfTheDiscordantPairs() {
        assertEquals(1, PairedStats.mcnemarP(0, 0));
        assertEquals(2.0 / 32, PairedStats.mcnemarP(5, 0), 1e-12);
        assertEquals(2.0 / 32, PairedStats.mcnemarP(0, 5), 1e-12);
        assertEquals(2 * (1 + 10 + 45) / 1024.0, PairedStats.mcnemarP(8, 2), 1e-12);
        assertEquals(1, PairedStats.mcnemarP(3, 3));
        double big = PairedStats.mcnemarP(5200, 4800); // normal approximation: z = 400 / 100 = 4, p ~ 6.3e-5
        assertTrue(big > 3e-5 && big < 1.2e-4, "p = " + big);
    }
}
