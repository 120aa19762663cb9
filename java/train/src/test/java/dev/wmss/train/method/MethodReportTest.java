package dev.wmss.train.method;

import com.google.gson.JsonObject;
import org.junit.jupiter.api.Test;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;

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
    void theGradientAndTheMeanLogitHavePanelsOfTheirOwnAndTheGradientIsPerToken() {
        List<XYChart> panels = MethodReport.logitsPanels(rows("non_target_logit_strong", "-2", "grad_norm_strong_logits", "0.01",
                "grad_rms_strong_logits", "0.4"));
        assertEquals(2, panels.size(), "one panel each: one axis made the gradient a flat line");
        XYSeries grad = panels.get(1).getSeriesMap().values().iterator().next();
        assertTrue(grad.getName().contains("RMS"), grad.getName());
        assertEquals(0.4 * 1.1, grad.getYData()[0], 1e-12, "the per-token RMS, not the norm of the whole gradient");
        for (XYChart c : panels) {
            assertEquals(Styler.LegendPosition.OutsideS, c.getStyler().getLegendPosition(), "the legend below the plot");
        }
    }

    @Test
    void theLossPanelsSayWhichTokensEachLossIsOver() {
        List<JsonObject> sft = rows("loss", "1"), jt = rows("loss", "6");
        List<XYChart> all = MethodReport.lossPanels(sft, sft, jt, true);
        assertEquals(2, all.size(), "SFT's and WD-JT's losses in panels of their own");
        for (XYSeries s : all.get(0).getSeriesMap().values()) assertTrue(s.getName().contains("response tokens"), s.getName());
        XYSeries wdjt = all.get(1).getSeriesMap().values().iterator().next();
        assertTrue(wdjt.getName().contains("every token") && all.get(1).getTitle().contains("every token"), wdjt.getName());
        assertEquals(6 * 1.1, wdjt.getYData()[0], 1e-12);
        assertEquals(6, wdjt.getXData()[0], 1e-12, "WD-JT's steps come after M1's 5");
        List<XYChart> completion = MethodReport.lossPanels(sft, sft, jt, false);
        assertTrue(completion.get(1).getTitle().contains("response's tokens"), completion.get(1).getTitle());
        assertEquals(1, MethodReport.lossPanels(sft, sft, List.of(), false).size(), "no WD-JT yet: one panel");
    }
}
