package dev.wmss.train.method;

import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** The report's plots: quantities of different scales on their own axes, and losses that say what they average. */
class MethodReportTest {
    private static List<JsonObject> rows(String... keysAndScales) {
        List<JsonObject> rows = new ArrayList<>();
        for (int step = 1; step <= 5; step++) {
            JsonObject o = new JsonObject();
            o.addProperty("step", step);
            for (int k = 0; k < keysAndScales.length; k += 2) {
                o.addProperty(keysAndScales[k], Double.parseDouble(keysAndScales[k + 1]) * (1 + 0.1 * step));
            }
            rows.add(o);
        }
        return rows;
    }

    @Test
    void theGradientNormAndTheMeanLogitHaveAxesOfTheirOwn() {
        XYChart c = MethodReport.logitsChart(rows("non_target_logit_strong", "-2", "grad_norm_strong_logits", "0.01"));
        XYSeries logit = c.getSeriesMap().get("mean non-target logit (left axis)");
        XYSeries grad = c.getSeriesMap().get("norm of the gradient on its logits (right axis)");
        assertNotNull(logit, c.getSeriesMap().keySet().toString());
        assertNotNull(grad, c.getSeriesMap().keySet().toString());
        assertNotEquals(logit.getYAxisGroup(), grad.getYAxisGroup(), "one axis makes the gradient a flat line");
    }

    @Test
    void theLossChartSaysWhichTokensEachLossIsOver() {
        List<JsonObject> sft = rows("loss", "1"), jt = rows("loss", "6");
        XYChart all = MethodReport.lossChart(sft, sft, jt, true);
        XYSeries wdjt = all.getSeriesMap().values().stream().filter(s -> s.getName().contains("WD-JT")).findFirst().orElseThrow();
        assertTrue(wdjt.getName().contains("every token"), wdjt.getName());
        for (XYSeries s : all.getSeriesMap().values()) {
            if (s != wdjt) {
                assertTrue(s.getName().contains("response tokens"), s.getName());
                assertNotEquals(s.getYAxisGroup(), wdjt.getYAxisGroup(), "losses over different tokens share no axis");
            }
        }
        assertTrue(all.getTitle().contains("every token"), all.getTitle());
        XYChart completion = MethodReport.lossChart(sft, sft, jt, false);
        for (XYSeries s : completion.getSeriesMap().values()) {
            assertTrue(s.getName().contains("response tokens"), s.getName());
            assertEquals(0, s.getYAxisGroup());
        }
    }
}
