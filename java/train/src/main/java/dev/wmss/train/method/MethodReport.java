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
import java.util.List;
import java.util.Locale;

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
        double total = r.stageSeconds().values().stream().mapToDouble(Double::doubleValue).sum();
        md.append(String.format(Locale.ROOT, "| total: every stage, over every invocation | %.0f |%n", total));
        md.append(String.format(Locale.ROOT, "| this invocation (stages done before: skipped) | %.0f |%n%n", r.seconds()));
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


    private static XYSeries add(XYChart c, String name, double[][] xy) {
        if (xy[0].length == 0) return null;
        XYSeries s = c.addSeries(name, xy[0], xy[1]);
        s.setMarker(xy[0].length <= 30 ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE); // a few logged points: show them
        return s;
    }

    /** Training loss per step: the control's, and WMSS's (M1's SFT epoch, then WD-JT after it). */
    private static boolean lossCurves(Path out, Path png) throws IOException {
        List<JsonObject> control = metrics(out.resolve("control")), m1 = metrics(out.resolve("m1")),
                jt = metrics(out.resolve("wdjt"));
        if (control.isEmpty() && m1.isEmpty()) return false;
        Charts.saveStacked("Training loss per optimizer step: the control, and WMSS (M1's SFT epoch, then WD-JT)",
                lossPanels(control, m1, jt, jtAllTokens(out)), png);
        return true;
    }

    /**
     * The loss plot's panels, one y axis each: SFT's losses over the response's tokens (the control, and M1's SFT
     * epoch), then WD-JT's loss of the mixed logits after M1's steps. With every token a target (the authors'
     * default) WD-JT's loss is over the prompt's tokens too, which a model cannot predict (random operands, questions):
     * another quantity, so another panel, and each panel's title says what its loss is over.
     */
    public static List<XYChart> lossPanels(List<JsonObject> control, List<JsonObject> m1, List<JsonObject> jt, boolean jtAllTokens) {
        double m1Steps = m1.isEmpty() ? 0 : m1.getLast().get("step").getAsDouble();
        XYChart sft = Charts.xy("SFT: mean loss over the response's tokens", "optimizer step", "loss", 380);
        add(sft, "control: SFT of M0 (response tokens)", series(control, "loss", 0));
        add(sft, "WMSS: M1's SFT epoch (response tokens)", series(m1, "loss", 0));
        XYChart wdjt = Charts.xy("WD-JT after M1: loss of the mixed logits over " + (jtAllTokens
                ? "every token (the prompt's too)" : "the response's tokens"), "optimizer step (after M1's)", "loss", 380);
        add(wdjt, "WMSS: WD-JT, mixed logits (" + (jtAllTokens ? "every token" : "response tokens") + ")",
                series(jt, "loss", m1Steps));
        return jt.isEmpty() ? List.of(sft) : List.of(sft, wdjt);
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
        XYChart h = Charts.xy("WD-JT: mean entropy over the supervised positions", "WD-JT step", "entropy (nats)", 480);
        add(h, "strong", series(jt, "entropy_strong", 0));
        add(h, "weak", series(jt, "entropy_weak", 0));
        add(h, "mixed", series(jt, "entropy_mixed", 0));
        BitmapEncoder.saveBitmap(h, plots.resolve("entropy.png").toString(), BitmapEncoder.BitmapFormat.PNG);
        Charts.saveStacked("WD-JT: the strong model's logits", logitsPanels(jt), plots.resolve("logits.png"));
        return true;
    }

    /**
     * The strong model's logits over WD-JT, in two panels: the mean non-target logit, and the gradient on the logits
     * per supervised token (the root mean square over the tokens of the step's last micro-batch: the norm of the
     * whole gradient carries 1/n of the step, so an epoch's short last batch would show a spike that is no effect).
     */
    public static List<XYChart> logitsPanels(List<JsonObject> jt) {
        XYChart logit = Charts.xy("mean logit of the non-target tokens", "WD-JT step", "logit", 340);
        add(logit, "mean non-target logit", series(jt, "non_target_logit_strong", 0));
        XYChart grad = Charts.xy("gradient on the logits, per supervised token (RMS; independent of the batch's size)",
                "WD-JT step", "RMS of λ·(p − onehot)", 340);
        boolean rms = jt.stream().anyMatch(o -> o.has("grad_rms_strong_logits"));
        add(grad, rms ? "RMS over the tokens" : "norm of the whole gradient (this run logged no RMS)",
                series(jt, rms ? "grad_rms_strong_logits" : "grad_norm_strong_logits", 0));
        return List.of(logit, grad);
    }

    /** The WD-DS weights, as a histogram of p·|D| (1 = uniform). */
    private static boolean weights(Path out, Path png) throws IOException {
        Path f = out.resolve("wdds").resolve("active.json");
        if (!Files.isRegularFile(f)) return false;
        JsonObject o = JsonParser.parseString(Files.readString(f)).getAsJsonObject();
        if (!o.has("weights")) return false;
        var w = o.getAsJsonArray("weights");
        int n = w.size(), bins = 20;
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = w.get(i).getAsDouble() * n;
            min = Math.min(min, v[i]);
            max = Math.max(max, v[i]);
        }
        double width = Math.max(max - min, 1e-9) / bins; // the bins span the weights' own range, min to max
        // bin centres with as many decimals as tell them apart (a narrow range needs more than two)
        int decimals = Math.max(2, (int) Math.ceil(-Math.log10(width)) + 1);
        List<String> keys = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        for (int b = 0; b < bins; b++) {
            keys.add(String.format(Locale.ROOT, "%." + decimals + "f", min + (b + 0.5) * width));
            counts.add(0);
        }
        for (double x : v) {
            int b = Math.min(bins - 1, (int) ((x - min) / width));
            counts.set(b, counts.get(b) + 1);
        }
        CategoryChart c = new CategoryChartBuilder().width(800).height(480).title("WD-DS weights (" + o.get("variant").getAsString()
                + " variant)").xAxisTitle("weight × |D| (1 = uniform), bin centre").yAxisTitle("examples").build();
        c.getStyler().setLegendVisible(false);
        c.getStyler().setXAxisLabelRotation(45);
        c.addSeries("examples", keys, counts);
        BitmapEncoder.saveBitmap(c, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        return true;
    }
}
