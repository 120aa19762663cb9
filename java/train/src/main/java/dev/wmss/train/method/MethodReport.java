package dev.wmss.train.method;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.train.eval.Evaluator;
import dev.wmss.train.loop.OutputDir;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.wmss.train.loop.JsonlMetrics;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * RUN/report.md and RUN/plots/*.png of a {@link Method}: the arms side by side (exact match with its standard
 * error, token loss), time per stage, the WD-DS draw, and plots made here (XChart, no Python): loss curves of both
 * arms, the paper's diagnostics over WD-JT's steps, the WD-DS weights.
 */
public final class MethodReport {
    private MethodReport() {}

    public static void write(Path out, MethodSettings s, Method.Report r) {
        Path plots = out.resolve("plots");
        List<String> made = new ArrayList<>();
        try {
            if (ModuleLayer.boot().findModule("java.desktop").isEmpty()) { // a jlink runtime without --plots
                throw new UnsupportedOperationException("this Java runtime has no java.desktop module"
                        + " (scripts/jlink.sh --plots makes one with it)");
            }
            Files.createDirectories(plots);
            if (lossCurves(out, plots.resolve("loss.png"))) made.add("loss.png");
            if (diagnostics(out, plots)) made.addAll(List.of("entropy.png", "logits.png"));
            if (weights(out, plots.resolve("wdds-weights.png"))) made.add("wdds-weights.png");
        } catch (IOException | RuntimeException e) {
            // plots are a convenience: a machine without fonts (headless AWT) still gets the report
            org.slf4j.LoggerFactory.getLogger("dev.wmss.train").warn("plots not made: {}", e.toString());
        }
        StringBuilder md = new StringBuilder();
        md.append("# WMSS run: ").append(out.toAbsolutePath().getFileName()).append("\n\n");
        md.append(String.format(Locale.ROOT, "Base model `%s`, %d training examples, %s; one seed (%d): the standard "
                        + "errors below are of each accuracy alone (binomial), not of a difference between arms.%n%n",
                s.base(), s.examples(), s.eval() == null ? "no evaluation set" : s.evalExamples() + " evaluation examples",
                s.sft().seed()));
        if (r.control() != null) {
            md.append("| model | exact match | ± s.e. | token loss |\n|---|---:|---:|---:|\n");
            row(md, "M0 (base)", r.base());
            row(md, "M1 (SFT, 1 epoch)", r.m1());
            row(md, "control: SFT, " + (1 + s.wdjtEpochs()) + " epochs", r.control());
            row(md, "WMSS: M1 + WD-JT (λ = " + s.lambda() + ")", r.wmss());
            double d = r.wmss().accuracy() - r.control().accuracy();
            md.append(String.format(Locale.ROOT, "%nWMSS − control: %+.1f points.%n%n", 100 * d));
        }
        md.append(String.format(Locale.ROOT, "WD-DS: %s, %d draws of %d examples (%d unique).%n%n",
                s.selection() == dev.wmss.train.select.Selection.Variant.NONE ? "none (every example once)" : s.selection() + " variant",
                r.draws(), s.examples(), r.unique()));
        md.append("| stage | seconds |\n|---|---:|\n");
        for (var e : r.stageSeconds().entrySet()) md.append(String.format(Locale.ROOT, "| %s | %.0f |%n", e.getKey(), e.getValue()));
        md.append(String.format(Locale.ROOT, "| all (this invocation, skipped stages excluded) | %.0f |%n%n", r.seconds()));
        for (String p : made) md.append("![").append(p).append("](plots/").append(p).append(")\n\n");
        md.append("Stages and their files: `m1/`, `control/`, `wdjt/` (run.json, train.json, metrics.jsonl, models), `wdds/`")
                .append(" (entropies, active.json with the weights), `eval/eval.json`, `final/` (WMSS's strong model).\n");
        OutputDir.write(out.resolve("report.md"), () -> Files.writeString(out.resolve("report.md"), md.toString()));
    }

    private static void row(StringBuilder md, String name, Evaluator.Result e) {
        double p = e.accuracy(), se = Math.sqrt(p * (1 - p) / Math.max(1, e.examples()));
        md.append(String.format(Locale.ROOT, "| %s | %.1f%% | %.1f | %.4f |%n", name, 100 * p, 100 * se, e.tokenLoss()));
    }

    /** The metrics.jsonl lines of a stage (empty when absent). */
    public static List<JsonObject> metrics(Path stage) throws IOException {
        return JsonlMetrics.read(stage);
    }

    private static double[][] series(List<JsonObject> rows, String key, double offset) {
        List<double[]> pts = new ArrayList<>();
        for (JsonObject o : rows) {
            if (o.has(key) && o.get(key).isJsonPrimitive()) pts.add(new double[]{o.get("step").getAsDouble() + offset, o.get(key).getAsDouble()});
        }
        double[][] xy = new double[2][pts.size()];
        for (int i = 0; i < pts.size(); i++) {
            xy[0][i] = pts.get(i)[0];
            xy[1][i] = pts.get(i)[1];
        }
        return xy;
    }

    private static XYChart chart(String title, String x, String y) {
        XYChart c = new XYChartBuilder().width(800).height(480).title(title).xAxisTitle(x).yAxisTitle(y).build();
        c.getStyler().setMarkerSize(4);
        return c;
    }

    private static XYSeries add(XYChart c, String name, double[][] xy) {
        if (xy[0].length == 0) return null;
        XYSeries s = c.addSeries(name, xy[0], xy[1]);
        s.setMarker(SeriesMarkers.NONE);
        return s;
    }

    /** Training loss per step: the control's, and WMSS's (M1's SFT epoch, then WD-JT after it). */
    private static boolean lossCurves(Path out, Path png) throws IOException {
        List<JsonObject> control = metrics(out.resolve("control")), m1 = metrics(out.resolve("m1")),
                jt = metrics(out.resolve("wdjt"));
        if (control.isEmpty() && m1.isEmpty()) return false;
        BitmapEncoder.saveBitmap(lossChart(control, m1, jt, jtAllTokens(out)), png.toString(), BitmapEncoder.BitmapFormat.PNG);
        return true;
    }

    /**
     * The loss chart. SFT's loss is over the response's tokens; WD-JT's, with every token a target (the authors'
     * default), over the prompt's too, which a model cannot predict (random operands, questions): a higher curve that
     * is not on the same scale, so it gets its own axis on the right and says so.
     */
    public static XYChart lossChart(List<JsonObject> control, List<JsonObject> m1, List<JsonObject> jt, boolean jtAllTokens) {
        double m1Steps = m1.isEmpty() ? 0 : m1.getLast().get("step").getAsDouble();
        XYChart c = chart("Training loss" + (jtAllTokens ? ": SFT over the response, WD-JT over every token" : ""),
                "optimizer step", "SFT loss (mean over response tokens)");
        add(c, "control: SFT (response tokens)", series(control, "loss", 0));
        add(c, "WMSS: M1's SFT epoch (response tokens)", series(m1, "loss", 0));
        XYSeries j = add(c, "WMSS: WD-JT, mixed logits (" + (jtAllTokens ? "every token, prompt too; right axis)"
                : "response tokens)"), series(jt, "loss", m1Steps));
        if (j != null && jtAllTokens) {
            j.setYAxisGroup(1);
            c.setYAxisGroupTitle(1, "WD-JT loss (mean over every token)");
            c.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
        }
        return c;
    }

    /** Whether WD-JT's targets were every token (config.lossTokens in its train.json). */
    private static boolean jtAllTokens(Path out) throws IOException {
        Path f = out.resolve("wdjt").resolve("train.json");
        if (!Files.isRegularFile(f)) return false;
        JsonObject o = JsonParser.parseString(Files.readString(f)).getAsJsonObject();
        JsonObject cfg = o.has("config") && o.get("config").isJsonObject() ? o.getAsJsonObject("config") : o;
        return cfg.has("lossTokens") && "ALL".equals(cfg.get("lossTokens").getAsString());
    }

    /** The paper's diagnostics over WD-JT's steps. */
    private static boolean diagnostics(Path out, Path plots) throws IOException {
        List<JsonObject> jt = metrics(out.resolve("wdjt"));
        if (jt.isEmpty() || !jt.getLast().has("entropy_strong")) return false;
        XYChart h = chart("WD-JT: entropy over supervised positions", "WD-JT step", "mean entropy (nats)");
        add(h, "strong", series(jt, "entropy_strong", 0));
        add(h, "weak", series(jt, "entropy_weak", 0));
        add(h, "mixed", series(jt, "entropy_mixed", 0));
        BitmapEncoder.saveBitmap(h, plots.resolve("entropy.png").toString(), BitmapEncoder.BitmapFormat.PNG);
        BitmapEncoder.saveBitmap(logitsChart(jt), plots.resolve("logits.png").toString(), BitmapEncoder.BitmapFormat.PNG);
        return true;
    }

    /**
     * The strong model's logits over WD-JT: the mean non-target logit (about -2) on the left axis, the norm of the
     * gradient on its logits (about 0.01) on its own axis on the right, so that neither is a flat line.
     */
    public static XYChart logitsChart(List<JsonObject> jt) {
        XYChart g = chart("WD-JT: the strong model's logits", "WD-JT step", "mean non-target logit");
        add(g, "mean non-target logit (left axis)", series(jt, "non_target_logit_strong", 0));
        XYSeries grad = add(g, "norm of the gradient on its logits (right axis)", series(jt, "grad_norm_strong_logits", 0));
        if (grad != null) {
            grad.setYAxisGroup(1);
            g.setYAxisGroupTitle(1, "gradient norm on the logits");
            g.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
        }
        return g;
    }

    /** The WD-DS weights, as a histogram of p·|D| (1 = uniform). */
    private static boolean weights(Path out, Path png) throws IOException {
        Path f = out.resolve("wdds").resolve("active.json");
        if (!Files.isRegularFile(f)) return false;
        JsonObject o = JsonParser.parseString(Files.readString(f)).getAsJsonObject();
        if (!o.has("weights")) return false;
        var w = o.getAsJsonArray("weights");
        int n = w.size(), bins = 20;
        double max = 0;
        double[] v = new double[n];
        for (int i = 0; i < n; i++) max = Math.max(max, v[i] = w.get(i).getAsDouble() * n);
        double width = Math.max(max, 1e-9) / bins;
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (int b = 0; b < bins; b++) counts.put(String.format(Locale.ROOT, "%.2f", (b + 0.5) * width), 0);
        List<String> keys = new ArrayList<>(counts.keySet());
        for (double x : v) counts.merge(keys.get(Math.min(bins - 1, (int) (x / width))), 1, Integer::sum);
        CategoryChart c = new CategoryChartBuilder().width(800).height(480).title("WD-DS weights (" + o.get("variant").getAsString()
                + " variant)").xAxisTitle("weight × |D| (1 = uniform), bin centre").yAxisTitle("examples").build();
        c.getStyler().setLegendVisible(false);
        c.getStyler().setXAxisLabelRotation(45);
        c.addSeries("examples", keys, new ArrayList<>(counts.values()));
        BitmapEncoder.saveBitmap(c, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        return true;
    }
}
