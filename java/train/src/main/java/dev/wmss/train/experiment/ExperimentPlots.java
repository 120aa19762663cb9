package dev.wmss.train.experiment;

import com.google.gson.JsonObject;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import dev.wmss.train.loop.JsonlMetrics;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The experiment's plots (XChart): exact match per arm with standard-error bars; seed 1's training loss (M1's SFT
 * epochs, then each second stage after them, the control over its whole schedule); the norm of the gradient on the
 * strong model's logits per supervised token over the same steps (saturation in SFT, and what each second stage
 * does to it).
 */
final class ExperimentPlots {
    private ExperimentPlots() {}

    /** The second stages drawn over M1's steps in the loss and gradient plots. */
    private static final String[] SHOWN = {Arm.SFT_1_1, Arm.WMSS, Arm.JOINT, Arm.TEMPERATURE, Arm.SELECTION};

    static List<String> write(Path out, Experiment.Result r) throws IOException {
        if (ModuleLayer.boot().findModule("java.desktop").isEmpty()) { // a jlink runtime without --plots
            throw new UnsupportedOperationException("this Java runtime has no java.desktop module"
                    + " (scripts/jlink.sh --plots makes one with it)");
        }
        Path dir = out.resolve("plots");
        Files.createDirectories(dir);
        List<String> made = new ArrayList<>();
        if (!r.arms().isEmpty()) {
            accuracy(r, dir.resolve("accuracy.png"));
            made.add("accuracy.png");
        }
        if (curves(out, r, "loss", "Seed 1: training loss", "loss (mean over the step's targets)", dir.resolve("loss.png"))) {
            made.add("loss.png");
        }
        if (curves(out, r, "grad_rms_strong_logits", "Seed 1: gradient on the strong model's logits, per supervised"
                + " token (RMS)", "RMS of ∂L/∂z_strong × n", dir.resolve("gradnorm.png"))) {
            made.add("gradnorm.png");
        }
        return made;
    }

    private static void accuracy(Experiment.Result r, Path png) throws IOException {
        List<String> names = new ArrayList<>();
        List<Double> mean = new ArrayList<>(), err = new ArrayList<>();
        int n = r.regimes().size();
        double[] m0 = new double[n], m1 = new double[n];
        for (int i = 0; i < n; i++) {
            m0[i] = r.regimes().get(i).m0Test().exactMatch();
            m1[i] = r.regimes().get(i).m1Test().exactMatch();
        }
        bar(names, mean, err, "M0", m0);
        bar(names, mean, err, "M1", m1);
        for (Arm a : r.armList()) {
            double[] em = new double[r.arms().size()];
            int i = 0;
            for (Map<String, Experiment.ArmResult> seed : r.arms().values()) em[i++] = seed.get(a.name()).test().exactMatch();
            bar(names, mean, err, a.name(), em);
        }
        CategoryChart c = new CategoryChartBuilder().width(900).height(500)
                .title("Held-out exact match (mean over " + r.arms().size() + " seeds ± s.e.)").xAxisTitle("model")
                .yAxisTitle("teacher-forced exact match (%)").build();
        c.getStyler().setLegendVisible(false);
        c.getStyler().setXAxisLabelRotation(45);
        c.addSeries("exact match", names, mean, err);
        BitmapEncoder.saveBitmap(c, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    /** One bar: the mean over seeds in percent, with its standard error (0 for one seed). */
    private static void bar(List<String> names, List<Double> mean, List<Double> err, String name, double[] perSeed) {
        names.add(name);
        mean.add(100 * ExperimentReport.mean(perSeed));
        double se = ExperimentReport.sem(perSeed);
        err.add(Double.isNaN(se) ? 0 : 100 * se);
    }

    private static boolean curves(Path out, Experiment.Result r, String key, String title, String y, Path png) throws IOException {
        Path seed = out.resolve("seed-1");
        List<JsonObject> m1 = metrics(seed.resolve("m1"));
        if (m1.isEmpty() || !m1.getLast().has(key)) return false;
        double offset = m1.getLast().get("step").getAsDouble();
        XYChart c = dev.wmss.train.method.Charts.xy(title, "optimizer step", y, 560);
        add(c, "M1: SFT of M0", metrics(seed.resolve("m1")), key, 0);
        add(c, Arm.CONTROL + " (from M0)", metrics(seed.resolve(Arm.CONTROL)), key, 0);
        for (String a : SHOWN) add(c, a + " (after M1)", metrics(seed.resolve(a)), key, offset);
        BitmapEncoder.saveBitmap(c, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        return true;
    }

    private static void add(XYChart c, String name, List<JsonObject> rows, String key, double offset) {
        List<double[]> pts = new ArrayList<>();
        for (JsonObject o : rows) {
            if (o.has(key) && o.get(key).isJsonPrimitive()) pts.add(new double[]{o.get("step").getAsDouble() + offset, o.get(key).getAsDouble()});
        }
        if (pts.isEmpty()) return;
        double[] x = new double[pts.size()], v = new double[pts.size()];
        for (int i = 0; i < x.length; i++) {
            x[i] = pts.get(i)[0];
            v[i] = pts.get(i)[1];
        }
        c.addSeries(name, x, v).setMarker(x.length <= 30 ? SeriesMarkers.CIRCLE : SeriesMarkers.NONE);
    }

    static List<JsonObject> metrics(Path stage) throws IOException {
        return JsonlMetrics.read(stage);
    }
}
