package dev.wmss.train.experiment;

import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVPrinter;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The experiment's outputs: results.csv (one line per seed and arm, M0 and M1 included), differences.csv (the paired
 * comparisons), report.md (regime gates, the metric's validation, arms, comparisons, the verdict) and plots/
 * ({@link ExperimentPlots}).
 */
final class ExperimentReport {
    private ExperimentReport() {}

    /** A paired comparison a − b with its statistics. */
    record Comparison(String a, String b, PairedStats.Difference d, long onlyA, long onlyB, double p) {}

    /** The comparisons reported, primary first: the claim needs the first two. */
    static final String[][] PAIRS = {
            {Arm.WMSS, Arm.CONTROL}, {Arm.JOINT, Arm.TEMPERATURE}, {Arm.WMSS, Arm.SFT_1_1}, {Arm.JOINT, Arm.SFT_1_1},
            {Arm.SELECTION, Arm.SFT_1_1}, {Arm.TEMPERATURE, Arm.SFT_1_1}, {Arm.FROZEN, Arm.JOINT}, {Arm.SFT_1_1, Arm.CONTROL}};

    static List<Comparison> comparisons(Experiment.Result r) {
        List<String[]> pairs = new ArrayList<>(List.of(PAIRS));
        for (Arm a : r.armList()) if (a.name().startsWith("joint-lambda-")) pairs.add(new String[]{a.name(), Arm.SFT_1_1});
        List<Comparison> out = new ArrayList<>();
        for (String[] p : pairs) {
            int n = r.arms().size();
            double[] a = new double[n], b = new double[n];
            long onlyA = 0, onlyB = 0;
            int i = 0;
            for (Map<String, Experiment.ArmResult> seed : r.arms().values()) {
                Scores sa = seed.get(p[0]).test(), sb = seed.get(p[1]).test();
                a[i] = sa.exactMatch();
                b[i++] = sb.exactMatch();
                for (int q = 0; q < sa.right().length(); q++) {
                    if (sa.right(q) && !sb.right(q)) onlyA++;
                    if (!sa.right(q) && sb.right(q)) onlyB++;
                }
            }
            out.add(new Comparison(p[0], p[1], PairedStats.difference(a, b), onlyA, onlyB, PairedStats.mcnemarP(onlyA, onlyB)));
        }
        return out;
    }

    /** Reproduced: WMSS beats the control with a 95% interval above 0, and joint training beats the temperature control. */
    static boolean reproduced(List<Comparison> c) {
        return c.get(0).d().positive() && c.get(1).d().mean() > 0;
    }

    static void write(Path out, Experiment.Result r) {
        List<String> plots = List.of();
        try {
            plots = ExperimentPlots.write(out, r);
        } catch (IOException | RuntimeException e) {
            LoggerFactory.getLogger("dev.wmss.train").warn("plots not made: {}", e.toString());
        }
        List<Comparison> cmp = r.arms().isEmpty() ? List.of() : comparisons(r);
        writeCsv(out, r, cmp);
        StringBuilder md = new StringBuilder("# WMSS experiment\n\n");
        ExperimentSpec s = r.spec();
        md.append(String.format(Locale.ROOT, """
                Built-in arithmetic task (%s), byte-level Qwen3-shaped model (hidden %d, %d layers). M0: a plain \
                language model on %d texts of the task without the answer format (%d epochs). Per seed: %d SFT problems \
                of its own; M1 = %d SFT epochs of M0; every arm's second stage is 1 epoch from M1 (the control: %d epochs \
                from M0 in one schedule), lr %.0e with linear decay, completion-only targets for every arm. Score: \
                teacher-forced exact match on the same %d held-out problems for every seed and arm. %d paired seeds.%n%n""",
                s.levels() == 1 ? "level 1" : "levels 1–" + s.levels(), s.hidden(), s.layers(), s.lmTexts(), s.lmEpochs(), s.train(), s.m1Epochs(), s.m1Epochs() + 1,
                s.lr(), s.test(), s.seeds()));
        md.append("## Regime gates (checked before the arms)\n\n");
        md.append("| seed | M0 test | M1 test | M1 train | M1 test loss | M1 train loss | H0 | H1 | ΔH < 0 | WD-DS unique | gates |\n");
        md.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
        for (Regime g : r.regimes()) {
            md.append(String.format(Locale.ROOT, "| %d | %.1f%% | %.1f%% | %.1f%% | %.4f | %.4f | %.3f | %.3f | %.0f%% | %d of %d | %s |%n",
                    g.seed(), 100 * g.m0Test().exactMatch(), 100 * g.m1Test().exactMatch(), 100 * g.m1Train().exactMatch(),
                    g.m1Test().tokenLoss(), g.m1Train().tokenLoss(), g.h0(), g.h1(), 100 * g.shareNegativeDh(), g.unique(),
                    g.draw().length, gates(g)));
        }
        md.append(String.format(Locale.ROOT, "%nGates: ΔH < 0 on ≥ %.0f%% of training examples; M1 − M0 ≥ %.0f points; M1 "
                        + "saturated (train exact match ≥ test + %.0f points, or train token loss ≤ half the test loss).%n%n",
                100 * Regime.MIN_SHARE_NEGATIVE, 100 * Regime.MIN_GAIN, 100 * Regime.MIN_TRAIN_LEAD));
        Experiment.Validation v = r.validation();
        md.append(String.format(Locale.ROOT, "Metric check: teacher-forced exact match agrees with greedy decoding's answer "
                        + "match on %.1f%% of %d test problems (seed 1's M1; %d vs %d right; needed: ≥ 98%% and some problem "
                        + "right, else it proves nothing): %s.%n%n",
                100 * v.agreement(), v.problems(), v.tfRight(), v.greedyRight(), v.passes() ? "passed"
                        : v.informative() ? "FAILED" : "FAILED (not informative: no problem right under either)"));
        if (r.smoke() != null) {
            md.append("**A smoke run (--quick): its sizes are too small to pass the gates, which are reported, not enforced; "
                    + "it tests that every stage runs, not the method.** Smoke check: every trained model's held-out token "
                    + "loss is below M0's: ").append(r.smoke().passed() ? "passed"
                    : "**FAILED** (" + String.join("; ", r.smoke().failures()) + ")").append(".\n\n");
        }
        if (r.arms().isEmpty()) {
            md.append("**A gate failed: the arms were not run.** This regime cannot test the method; change the sizes "
                    + "(or pass --force to run the arms anyway).\n");
        } else {
            if (r.forced()) md.append("**A gate failed; the arms were run anyway (--force): read them with that in mind.**\n\n");
            arms(md, r);
            md.append("\n## Paired comparisons\n\nDifferences of exact match in points: mean over seeds ± standard error, "
                    + "95% t interval; McNemar's exact test pooled over seeds × problems (a right only under A / only under B).\n\n");
            md.append("| A − B | mean | ± s.e. | 95% interval | only A | only B | McNemar p |\n|---|---:|---:|---|---:|---:|---:|\n");
            for (Comparison c : cmp) {
                md.append(String.format(Locale.ROOT, "| %s − %s | %+.2f | %.2f | [%+.2f, %+.2f] | %d | %d | %.3g |%n", c.a(), c.b(),
                        100 * c.d().mean(), 100 * c.d().se(), 100 * c.d().lo(), 100 * c.d().hi(), c.onlyA(), c.onlyB(), c.p()));
            }
            boolean yes = reproduced(cmp);
            md.append(String.format(Locale.ROOT, "%n**Verdict: the claim is %s here.** It counts as reproduced only when "
                            + "WMSS − control > 0 with a 95%% interval above 0 (here %+.2f, [%+.2f, %+.2f]) and joint − temperature "
                            + "control > 0 (here %+.2f ± %.2f).%n", yes ? "reproduced" : "not reproduced", 100 * cmp.get(0).d().mean(),
                    100 * cmp.get(0).d().lo(), 100 * cmp.get(0).d().hi(), 100 * cmp.get(1).d().mean(), 100 * cmp.get(1).d().se()));
        }
        md.append("\n");
        for (String p : plots) md.append("![").append(p).append("](plots/").append(p).append(")\n\n");
        md.append("| stage | seconds |\n|---|---:|\n");
        double all = 0;
        for (var e : r.seconds().entrySet()) {
            all += e.getValue();
            md.append(String.format(Locale.ROOT, "| %s | %.0f |%n", e.getKey(), e.getValue()));
        }
        md.append(String.format(Locale.ROOT, "| total: every stage, over every invocation | %.0f |%n", all));
        md.append("\nFiles: `results.csv`, `differences.csv`, `seed-K/ARM/` (train.json, metrics.jsonl, result.json, the "
                + "model), `seed-K/regime/result.json` (scores, entropies, the draw).\n");
        Experiment.write(out.resolve("report.md"), md.toString());
    }

    private static String gates(Regime g) {
        List<String> failed = new ArrayList<>();
        if (!g.entropyGate()) failed.add("ΔH");
        if (!g.gainGate()) failed.add("gain");
        if (!g.saturationGate()) failed.add("saturation");
        return failed.isEmpty() ? "passed" : "**failed: " + String.join(", ", failed) + "**";
    }

    private static void arms(StringBuilder md, Experiment.Result r) {
        md.append("## Arms\n\nExact match and token loss on the held-out problems, mean over seeds ± standard error of the mean.\n\n");
        md.append("| arm | what | exact match | ± s.e. | token loss | seconds (mean) |\n|---|---|---:|---:|---:|---:|\n");
        for (Arm a : r.armList()) {
            double[] em = new double[r.arms().size()];
            double loss = 0, sec = 0;
            int i = 0;
            for (Map<String, Experiment.ArmResult> seed : r.arms().values()) {
                Experiment.ArmResult x = seed.get(a.name());
                em[i++] = x.test().exactMatch();
                loss += x.test().tokenLoss();
                sec += x.seconds();
            }
            int n = em.length;
            md.append(String.format(Locale.ROOT, "| %s | %s | %.1f%% | %.1f | %.4f | %.0f |%n", a.name(), a.title(),
                    100 * mean(em), 100 * sem(em), loss / n, sec / n));
        }
    }

    static double mean(double[] x) {
        double s = 0;
        for (double v : x) s += v;
        return s / x.length;
    }

    /** Standard error of the mean (NaN for one value). */
    static double sem(double[] x) {
        if (x.length < 2) return Double.NaN;
        double m = mean(x), ss = 0;
        for (double v : x) ss += (v - m) * (v - m);
        return Math.sqrt(ss / (x.length - 1) / x.length);
    }

    /** The header and rows of results.csv (one line per seed and model) and differences.csv (one per comparison). */
    private static void writeCsv(Path out, Experiment.Result r, List<Comparison> cmp) {
        List<List<Object>> rows = new ArrayList<>();
        for (Regime g : r.regimes()) {
            rows.add(List.of(g.seed(), "m0", f6(g.m0Test().exactMatch()), f6(g.m0Test().tokenLoss()),
                    f6(g.m0Train().exactMatch()), f6(g.m0Train().tokenLoss()), ""));
            rows.add(List.of(g.seed(), "m1", f6(g.m1Test().exactMatch()), f6(g.m1Test().tokenLoss()),
                    f6(g.m1Train().exactMatch()), f6(g.m1Train().tokenLoss()),
                    f1(r.seconds().getOrDefault("seed-" + g.seed() + "/m1", Double.NaN))));
        }
        for (var seed : r.arms().entrySet()) {
            for (var a : seed.getValue().entrySet()) {
                rows.add(List.of(seed.getKey(), a.getKey(), f6(a.getValue().test().exactMatch()),
                        f6(a.getValue().test().tokenLoss()), "", "", f1(a.getValue().seconds())));
            }
        }
        Experiment.write(out.resolve("results.csv"), csv(rows, "seed", "model", "test_exact_match", "test_token_loss",
                "train_exact_match", "train_token_loss", "seconds"));
        rows.clear();
        for (Comparison c : cmp) {
            rows.add(List.of(c.a(), c.b(), f6(c.d().mean()), f6(c.d().se()), f6(c.d().lo()), f6(c.d().hi()), c.d().n(),
                    c.onlyA(), c.onlyB(), String.format(Locale.ROOT, "%.6g", c.p())));
        }
        Experiment.write(out.resolve("differences.csv"), csv(rows, "a", "b", "mean", "se", "lo95", "hi95", "seeds",
                "only_a", "only_b", "mcnemar_p"));
    }

    /** RFC 4180 CSV with "\n" line ends. */
    private static String csv(List<List<Object>> rows, String... header) {
        StringBuilder b = new StringBuilder();
        try (CSVPrinter p = new CSVPrinter(b, CSVFormat.DEFAULT.builder().setHeader(header).setRecordSeparator("\n").get())) {
            for (List<Object> row : rows) p.printRecord(row);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a StringBuilder does not throw
        }
        return b.toString();
    }

    private static String f6(double x) {
        return String.format(Locale.ROOT, "%.6f", x);
    }

    private static String f1(double x) {
        return String.format(Locale.ROOT, "%.1f", x);
    }
}
