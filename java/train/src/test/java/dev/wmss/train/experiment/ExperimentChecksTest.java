package dev.wmss.train.experiment;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The experiment's checks can fail: the smoke check of --quick, the metric check, and the regime gates. */
class ExperimentChecksTest {
    @Test
    void theSmokeCheckFailsWhenAModelDidNotLearn() {
        Scores m0 = new Scores(0, 2.0, "00"), better = new Scores(0, 1.5, "00"), worse = new Scores(0, 2.5, "00");
        Regime learned = new Regime(1, m0, better, m0, better, 1, 1, 0, new int[]{0}, 1);
        Regime not = new Regime(2, m0, worse, m0, worse, 1, 1, 0, new int[]{0}, 1);
        Map<Integer, Map<String, Experiment.ArmResult>> arms = Map.of(
                1, Map.of("wmss", new Experiment.ArmResult(better, 1, 1)),
                2, Map.of("wmss", new Experiment.ArmResult(m0, 1, 1)));
        assertTrue(Experiment.smoke(List.of(learned), arms).passed());
        Experiment.Smoke failed = Experiment.smoke(List.of(learned, not), arms);
        assertFalse(failed.passed());
        assertEquals(2, failed.failures().size(), failed.failures().toString()); // seed 2's M1 and its arm
        assertTrue(failed.failures().get(0).startsWith("seed 2 M1"), failed.failures().toString());
        assertTrue(failed.failures().get(1).startsWith("seed 2 wmss"), failed.failures().toString());
    }

    @Test
    void agreementOnProblemsNobodyGotRightProvesNothing() {
        assertFalse(new Experiment.Validation(16, 16, 0, 0).passes(), "0 vs 0 right");
        assertFalse(new Experiment.Validation(16, 16, 0, 0).informative());
        assertTrue(new Experiment.Validation(16, 16, 3, 3).passes());
        assertFalse(new Experiment.Validation(16, 10, 3, 9).passes());
        assertTrue(new Experiment.Validation(0, 0, 0, 0).passes(), "no validation asked for");
    }

    @Test
    void withoutQuickAFailedGateStopsTheArmsUnlessForced(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("x");
        ExperimentSpec spec = ExperimentSpec.QUICK.toBuilder().seeds(1).build();
        Experiment.Result gated = Experiment.run(dir, spec, false, false, false);
        assertFalse(gated.gatesPassed(), "the quick sizes cannot make a saturated M1");
        assertTrue(gated.arms().isEmpty());
        assertNull(gated.smoke());
        assertTrue(Files.readString(dir.resolve("report.md")).contains("A gate failed: the arms were not run"));
        assertFalse(Files.exists(dir.resolve("seed-1/control")), "no arm ran");
        Experiment.Result forced = Experiment.run(dir, spec, true, true, false);
        assertEquals(1, forced.arms().size());
        assertTrue(forced.forced());
        assertTrue(Files.readString(dir.resolve("report.md")).contains("the arms were run anyway (--force)"));
    }

    @Test
    void anExperimentRecordedByAnEarlierVersionIsComparedToo() {
        // earlier versions wrote the spec as its text, which the record still prints the same way
        ExperimentSpec quick = ExperimentSpec.QUICK;
        assertTrue(quick.toString().startsWith("ExperimentSpec[lmTexts=200, ") && quick.toString().contains("sweep=[0.3, 0.5]"));
        assertEquals(List.of(), Experiment.differences(new com.google.gson.JsonPrimitive(quick.toString()), quick));
        ExperimentSpec three = quick.toBuilder().seeds(3).build();
        assertEquals(List.of("--seeds: experiment 2, now 3"),
                Experiment.differences(new com.google.gson.JsonPrimitive(quick.toString()), three));
        assertEquals(List.of("--seeds: experiment 2, now 3"),
                Experiment.differences(new com.google.gson.Gson().toJsonTree(quick), three));
        assertEquals(quick, quick.toBuilder().build(), "a record's equals");
    }
}
