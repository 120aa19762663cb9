package dev.wmss.train.loop;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

class LrScheduleTest {
    @Test
    void warmsUpLinearlyThenFollowsTheCosine() {
        LrSchedule s = new LrSchedule(1e-3, 10, 110, 1e-5);
        assertEquals(1e-4, s.at(0), 1e-12);
        assertEquals(5e-4, s.at(4), 1e-12);
        assertEquals(1e-3, s.at(10), 1e-12, "peak right after warm-up");
        assertEquals(1e-5 + (1e-3 - 1e-5) * 0.5, s.at(60), 1e-12, "half way down the cosine");
        assertEquals(1e-5, s.at(110), 1e-15);
        assertEquals(1e-5, s.at(1_000), 1e-15);
        for (long k = 10; k < 110; k++) assertTrue(s.at(k + 1) <= s.at(k), "decays monotonically at " + k);
        assertEquals(10, LrSchedule.warmupCosine(1e-5, 100).warmupSteps());
        assertEquals(1e-5, new LrSchedule(1e-5, 0, 5, 0).at(0), 1e-18, "no warm-up starts at the peak");
    }

    @Test
    void theAuthorsShapeDecaysLinearlyFromThePeakWithoutWarmUp() {
        LrSchedule s = LrSchedule.linearDecay(2e-5, 100);
        assertEquals(0, s.warmupSteps());
        assertEquals(2e-5, s.at(0), 1e-18, "starts at the peak");
        assertEquals(1e-5, s.at(50), 1e-18, "half way: half the peak");
        assertEquals(2e-5 * 0.01, s.at(99), 1e-18);
        assertEquals(0, s.at(100), 0);
        for (long k = 0; k < 100; k++) assertEquals(s.at(k) - s.at(k + 1), 2e-7, 1e-18, "a straight line at " + k);
        LrSchedule w = new LrSchedule(1e-3, 10, 110, 0, true);
        assertEquals(1e-3, w.at(10), 1e-15, "a linear decay may follow a warm-up");
        assertEquals(5e-4, w.at(60), 1e-15);
    }

    @Test
    void rejectsNonsense() {
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1e-3, 20, 10, 0));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(1e-3, 0, 10, 1e-2));
        assertThrows(IllegalArgumentException.class, () -> new LrSchedule(-1, 0, 10, 0));
    }
}
