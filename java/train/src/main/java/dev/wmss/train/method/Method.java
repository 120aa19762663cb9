package dev.wmss.train.method;

import dev.wmss.train.loop.Placement;
import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.kernels.DType;
import dev.wmss.kernels.torch.TorchModel;
import dev.wmss.train.data.Collator;
import dev.wmss.train.data.Example;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.train.eval.Evaluator;
import dev.wmss.train.eval.ShardedStats;
import dev.wmss.train.loop.Checkpointer;
import dev.wmss.train.loop.DataParallel;
import dev.wmss.train.loop.Head;
import dev.wmss.train.loop.OutputDir;
import dev.wmss.train.loop.Sampler;
import dev.wmss.train.loop.TrainConfig;
import dev.wmss.train.loop.TrainingRun;
import dev.wmss.train.select.EntropyFile;
import dev.wmss.train.select.Selection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The whole method on a base model and a training set, against its fair control, in stages that each finish with a
 * marker ({@code STAGE/stage.json}): a finished stage is not redone, a half-done training stage resumes from its
 * newest checkpoint. Stages (directories of the run):
 * <pre>
 *   m1        SFT of M0 for 1 epoch                              (M1)
 *   control   SFT of M0 for 1 + jtEpochs epochs in one schedule  (the control: the same budget)
 *   wdds      entropies of every example under M0 and M1, the WD-DS weights and draw (skipped without selection)
 *   wdjt      WD-JT of weak M0 and strong M1 over the draw       (WMSS: its strong/ is the result)
 *   eval      M0, M1, control and WMSS on the evaluation set (exact match, token loss)
 *   final     WMSS's strong model exported as a Hugging Face checkpoint
 * </pre>
 * then report.md and plots/ ({@link MethodReport}). Under a launcher every rank runs it: training and entropies are
 * shared, rank 0 writes, selects and evaluates.
 */
public final class Method {
    private static final Logger LOG = LoggerFactory.getLogger("dev.wmss.train");

    /**
     * What to run. sft: M1's stage (1 epoch; the control gets 1 + jtEpochs); selection null: every example once;
     * eval null: no evaluation stage.
     */
    public record Spec(Path base, Collator train, List<Example> eval, Tokenizer tok, TrainConfig sft, int jtEpochs, float lambda,
                boolean freezeWeak, Selection.Variant selection, TrainConfig.LossTokens jtTokens, Head head, int maxNew,
                int evalBatch, DType exportDType) {
        public Spec {
            if (jtEpochs < 1) throw new IllegalArgumentException("--epochs must be >= 1, got " + jtEpochs);
            if (maxNew < 1) throw new IllegalArgumentException("--max-new must be >= 1, got " + maxNew);
            if (evalBatch < 1) throw new IllegalArgumentException("--eval-batch must be >= 1, got " + evalBatch);
            jt(sft, jtEpochs, lambda, freezeWeak, jtTokens).build(); // lambda and freezing checked before any stage
        }

        /** WD-JT's configuration: M1's, in mode WDJT, for jtEpochs epochs. */
        public TrainConfig.Builder jt() {
            return jt(sft, jtEpochs, lambda, freezeWeak, jtTokens);
        }

        private static TrainConfig.Builder jt(TrainConfig sft, int epochs, float lambda, boolean freezeWeak,
                                              TrainConfig.LossTokens tokens) {
            TrainConfig.Builder b = sft.toBuilder().mode(TrainConfig.Mode.WDJT).epochs(epochs).lambda(lambda)
                    .freezeWeak(freezeWeak);
            return tokens == null ? b : b.lossTokens(tokens);
        }
    }

    /** Evaluations are null without an evaluation set (and on ranks other than 0). */
    public record Report(Evaluator.Result base, Evaluator.Result m1, Evaluator.Result control, Evaluator.Result wmss, int draws,
                  int unique, Map<String, Double> stageSeconds, double seconds) {}

    private final Path out;
    private final Spec s;
    private final DataParallel parallel = DataParallel.process();
    private final Map<String, Double> seconds = new LinkedHashMap<>();

    private Method(Path out, Spec s) {
        this.out = out;
        this.s = s;
    }

    public static Report run(Path out, Spec spec) {
        return new Method(out, spec).execute();
    }

    private Report execute() {
        long t0 = System.nanoTime();
        OutputDir.requireWritable(out, "--out");
        Path m1 = train("m1", "SFT of M0 for 1 epoch (M1)", s.sft(), Sampler.all(s.train().size()), s.base(), null);
        Path control = train("control", "control: SFT of M0 for " + (1 + s.jtEpochs()) + " epochs in one schedule",
                s.sft().toBuilder().epochs(1 + s.jtEpochs()).build(), Sampler.all(s.train().size()), s.base(), null);
        int[] active = stage("wdds", "WD-DS: entropies under M0 and M1, " + (s.selection() == null
                ? "no selection (every example once)" : s.selection() + "-variant draw"), () -> select(m1), this::readActive);
        Path wmss = train("wdjt", "WD-JT of weak M0 and strong M1 (lambda " + s.lambda()
                + (s.freezeWeak() ? ", weak frozen)" : ")"), s.jt().build(), active, m1, s.base());
        Map<String, Evaluator.Result> eval = s.eval() == null ? Map.of()
                : stage("eval", "evaluation on " + s.eval().size() + " examples", () -> evaluate(Map.of("base", s.base(),
                        "m1", m1, "control", control, "wmss", wmss)), this::readEval);
        stage("final", "export of WMSS's strong model", () -> export(wmss), d -> Boolean.TRUE);
        long unique = java.util.Arrays.stream(active).distinct().count();
        Report r = new Report(eval.get("base"), eval.get("m1"), eval.get("control"), eval.get("wmss"), active.length,
                (int) unique, seconds, (System.nanoTime() - t0) / 1e9);
        if (parallel.isRoot()) MethodReport.write(out, s, r);
        return r;
    }

    /** A training stage: skipped when done, resumed when a checkpoint is there, else started. */
    private Path train(String name, String what, TrainConfig cfg, int[] active, Path strong, Path weak) {
        return stage(name, what, () -> {
            Path dir = out.resolve(name);
            boolean resume = Files.isDirectory(dir) && new Checkpointer(dir).latest().isPresent();
            if (resume) LOG.info("   resuming from {}", dir.resolve("checkpoints"));
            TrainingRun.Result r = TrainingRun.builder(cfg).data(s.train(), active).strong(strong).weak(weak).out(dir)
                    .resume(resume).startOver(!resume).head(s.head()).prepare().run();
            if (r.interrupted()) throw new Interrupted();
            return r.strong();
        }, dir -> dir.resolve("strong"));
    }

    /** Ctrl-C during a training stage: its checkpoint is saved; running the same command again resumes it. */
    public static final class Interrupted extends RuntimeException {
        Interrupted() {
            super("interrupted: the stage's checkpoint is saved; run the same command again to resume", null, false, false);
        }
    }

    /**
     * Runs a stage unless its marker says it is done (then reads its result from its directory); times it. The
     * decision is the same on every rank (they read the same marker after the previous stage's barrier).
     */
    private <T> T stage(String name, String what, Supplier<T> body, java.util.function.Function<Path, T> reread) {
        Path dir = out.resolve(name), marker = dir.resolve("stage.json"), spent = dir.resolve("elapsed.json");
        if (Files.isRegularFile(marker)) {
            JsonObject m = JsonParser.parseString(read(marker)).getAsJsonObject();
            seconds.put(name, m.get("seconds").getAsDouble());
            LOG.info("== {}: done before ({}), skipped", what, marker);
            return reread.apply(dir);
        }
        // the time of earlier invocations that stopped in this stage (Ctrl-C, an error) counts toward it
        double before = Files.isRegularFile(spent)
                ? JsonParser.parseString(read(spent)).getAsJsonObject().get("seconds").getAsDouble() : 0;
        LOG.info("== {}", what);
        long t0 = System.nanoTime();
        T result;
        try {
            result = body.get();
        } catch (RuntimeException | Error e) {
            if (parallel.isRoot()) {
                double sec = before + (System.nanoTime() - t0) / 1e9;
                try {
                    Runs.writeJson(spent, Map.of("stage", name, "seconds", sec));
                } catch (RuntimeException ignored) {
                    // the failure itself is what the user must see
                }
            }
            throw e;
        }
        double sec = before + (System.nanoTime() - t0) / 1e9;
        seconds.put(name, sec);
        if (parallel.isRoot()) Runs.writeJson(marker, Map.of("stage", name, "what", what, "seconds", sec));
        parallel.barrier();
        return result;
    }

    private int[] select(Path m1) {
        double[] h0, h1;
        try (TorchModel weak = Placement.current().load(s.base()); TorchModel strong = Placement.current().load(m1)) {
            h0 = ShardedStats.answerEntropy(parallel, weak, s.train(), 64, s.head(), "   entropies under M0");
            h1 = ShardedStats.answerEntropy(parallel, strong, s.train(), 64, s.head(), "   entropies under M1");
        }
        int[] active = Sampler.all(s.train().size());
        double[] p = null;
        if (s.selection() != null) {
            p = Selection.weights(h0, h1, Selection.ALPHA, Selection.BETA, Selection.GAMMA, s.selection());
            active = Selection.sample(p, h0.length, s.sft().seed(), s.selection() == Selection.Variant.PAPER);
        }
        if (parallel.isRoot()) {
            Path dir = out.resolve("wdds");
            EntropyFile.write(dir.resolve("entropy-weak.jsonl"), h0);
            EntropyFile.write(dir.resolve("entropy-strong.jsonl"), h1);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("variant", s.selection() == null ? "NONE" : s.selection().name());
            m.put("examples", h0.length);
            m.put("draws", active.length);
            m.put("indices", active);
            if (p != null) m.put("weights", p);
            Runs.writeJson(dir.resolve("active.json"), m);
        }
        return active; // computed identically on every rank (same entropies, same seed)
    }

    private int[] readActive(Path dir) {
        return new Gson().fromJson(JsonParser.parseString(read(dir.resolve("active.json"))).getAsJsonObject().get("indices"),
                int[].class);
    }

    private Map<String, Evaluator.Result> evaluate(Map<String, Path> models) {
        Map<String, Evaluator.Result> results = new LinkedHashMap<>();
        if (parallel.isRoot()) {
            for (String role : List.of("base", "m1", "control", "wmss")) {
                try (TorchModel m = Placement.current().load(models.get(role))) {
                    results.put(role, Evaluator.evaluate(m, s.eval(), s.tok(), s.train().maxLen() + s.maxNew(), s.maxNew(),
                            s.evalBatch(), "   evaluating " + role));
                }
                LOG.info("   {}: exact match {}", role, String.format(java.util.Locale.ROOT, "%.1f%%",
                        100 * results.get(role).accuracy()));
            }
            Runs.writeJson(out.resolve("eval").resolve("eval.json"), results);
        }
        return results;
    }

    private Map<String, Evaluator.Result> readEval(Path dir) {
        if (!parallel.isRoot()) return Map.of();
        JsonObject o = JsonParser.parseString(read(dir.resolve("eval.json"))).getAsJsonObject();
        Map<String, Evaluator.Result> results = new LinkedHashMap<>();
        for (var e : o.entrySet()) results.put(e.getKey(), new Gson().fromJson(e.getValue(), Evaluator.Result.class));
        return results;
    }

    private Boolean export(Path wmss) {
        if (parallel.isRoot()) {
            try (TorchModel m = Placement.current().load(wmss)) {
                m.save(out.resolve("final"), s.exportDType(), 5_000_000_000L);
            }
            Runs.copyTokenizerFiles(s.tok().files(), out.resolve("final")); // loadable by Hugging Face as is
        }
        return Boolean.TRUE;
    }

    /** The stage directories and the report of an earlier run in out, deleted (the demo starts afresh). */
    public static void clearStages(Path out) {
        for (String d : List.of("m1", "control", "wdds", "wdjt", "eval", "final", "plots", "report.md")) {
            try {
                if (Files.isDirectory(out.resolve(d))) Checkpointer.deleteTree(out.resolve(d));
                else Files.deleteIfExists(out.resolve(d));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot delete " + out.resolve(d) + ": " + OutputDir.reason(e), e);
            }
        }
    }

    public static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + OutputDir.reason(e), e);
        }
    }
}
