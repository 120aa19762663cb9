package dev.wmss.train.method;

import dev.wmss.train.loop.Placement;
import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.kernels.DType;
import dev.wmss.runtime.TorchModel;
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
 *   control   SFT of M0 for 1 + wdjtEpochs epochs in one schedule (the control: the same budget)
 *   wdds      entropies of every example under M0 and M1, the WD-DS weights and draw ({@link WdDs}; NONE: every
 *             example once)
 *   wdjt      WD-JT of weak M0 and strong M1 over the draw       (WMSS: its strong/ is the result)
 *   eval      M0, M1, control and WMSS on the evaluation set (exact match, token loss)
 *   final     WMSS's strong model exported as a Hugging Face checkpoint
 * </pre>
 * then report.md and plots/ ({@link MethodReport}). What decides the results is one {@link MethodSettings}; `run` and
 * the demo call it, `wmss` and the experiment use its stages ({@link WdDs}, {@link #control}, {@link #wdjt}). Under a
 * launcher every rank runs it: training and entropies are shared, rank 0 writes and evaluates.
 */
public final class Method {
    private static final Logger LOG = LoggerFactory.getLogger("dev.wmss.train");

    /** The method's inputs: the base model M0, the tokenised training set, the evaluation set (null: none), how the loss
     *  meets the vocabulary. What decides the results is in the {@link MethodSettings}. */
    public record Inputs(Path base, Collator train, List<Example> eval, Tokenizer tok, Head head) {}

    /** The control's configuration: M1's SFT continued for wdjtEpochs more epochs, in one schedule (the same budget). */
    public static TrainConfig control(TrainConfig m1, int wdjtEpochs) {
        return m1.toBuilder().epochs(m1.epochs() + wdjtEpochs).build();
    }

    /** WD-JT's configuration: M1's, in mode WDJT, for epochs, with lambda and the weak model frozen or not. */
    public static TrainConfig.Builder wdjt(TrainConfig m1, int epochs, float lambda, boolean freezeWeak) {
        return m1.toBuilder().mode(TrainConfig.Mode.WDJT).epochs(epochs).lambda(lambda).freezeWeak(freezeWeak);
    }

    /** Evaluations are null without an evaluation set (and on ranks other than 0). */
    public record Report(Evaluator.Result base, Evaluator.Result m1, Evaluator.Result control, Evaluator.Result wmss, int draws,
                  int unique, Map<String, Double> stageSeconds, double seconds) {}

    private final Path out;
    private final MethodSettings s;
    private final Inputs in;
    private final DataParallel parallel = DataParallel.process();
    private final Map<String, Double> seconds = new LinkedHashMap<>();

    private Method(Path out, MethodSettings s, Inputs in) {
        this.out = out;
        this.s = s;
        this.in = in;
    }

    public static Report run(Path out, MethodSettings settings, Inputs inputs) {
        return new Method(out, settings, inputs).execute();
    }

    private Report execute() {
        long t0 = System.nanoTime();
        OutputDir.requireWritable(out, "--out");
        int n = in.train().size();
        Path m1 = train("m1", "SFT of M0 for 1 epoch (M1)", s.sft(), Sampler.all(n), in.base(), null);
        Path control = train("control", "control: SFT of M0 for " + (1 + s.wdjtEpochs()) + " epochs in one schedule",
                s.control(), Sampler.all(n), in.base(), null);
        int[] active = stage("wdds", "WD-DS: entropies under M0 and M1, " + (s.selection() == Selection.Variant.NONE
                ? "no selection (every example once)" : s.selection() + "-variant draw"), () -> WdDs.run(parallel, in.base(),
                m1, in.train(), in.head(), s.selection(), s.seed(), out.resolve("wdds")).indices(), WdDs::readIndices);
        Path wmss = train("wdjt", "WD-JT of weak M0 and strong M1 (lambda " + s.lambda()
                + (s.freezeWeak() ? ", weak frozen)" : ")"), s.wdjt(), active, m1, in.base());
        Map<String, Evaluator.Result> eval = in.eval() == null ? Map.of()
                : stage("eval", "evaluation on " + in.eval().size() + " examples", () -> evaluate(Map.of("base", in.base(),
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
            TrainingRun.Result r = TrainingRun.builder(cfg).data(in.train(), active).strong(strong).weak(weak).out(dir)
                    .resume(resume).startOver(!resume).head(in.head()).prepare().run();
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
            JsonObject m = JsonParser.parseString(OutputDir.read(marker)).getAsJsonObject();
            seconds.put(name, m.get("seconds").getAsDouble());
            LOG.info("== {}: done before ({}), skipped", what, marker);
            return reread.apply(dir);
        }
        // the time of earlier invocations that stopped in this stage (Ctrl-C, an error) counts toward it
        double before = Files.isRegularFile(spent)
                ? JsonParser.parseString(OutputDir.read(spent)).getAsJsonObject().get("seconds").getAsDouble() : 0;
        LOG.info("== {}", what);
        long t0 = System.nanoTime();
        T result;
        try {
            result = body.get();
        } catch (RuntimeException | Error e) {
            if (parallel.isRoot()) {
                double sec = before + (System.nanoTime() - t0) / 1e9;
                try {
                    OutputDir.writeJson(spent, Map.of("stage", name, "seconds", sec));
                } catch (RuntimeException ignored) {
                    // the failure itself is what the user must see
                }
            }
            throw e;
        }
        double sec = before + (System.nanoTime() - t0) / 1e9;
        seconds.put(name, sec);
        if (parallel.isRoot()) OutputDir.writeJson(marker, Map.of("stage", name, "what", what, "seconds", sec));
        parallel.barrier();
        return result;
    }

    private Map<String, Evaluator.Result> evaluate(Map<String, Path> models) {
        Map<String, Evaluator.Result> results = new LinkedHashMap<>();
        if (parallel.isRoot()) {
            for (String role : List.of("base", "m1", "control", "wmss")) {
                try (TorchModel m = Placement.current().load(models.get(role))) {
                    results.put(role, Evaluator.evaluate(m, in.eval(), in.tok(), in.train().maxLen(), s.maxNew(),
                            s.evalBatch(), "   evaluating " + role));
                }
                LOG.info("   {}: exact match {}", role, String.format(java.util.Locale.ROOT, "%.1f%%",
                        100 * results.get(role).accuracy()));
            }
            OutputDir.writeJson(out.resolve("eval").resolve("eval.json"), results);
        }
        return results;
    }

    private Map<String, Evaluator.Result> readEval(Path dir) {
        if (!parallel.isRoot()) return Map.of();
        JsonObject o = JsonParser.parseString(OutputDir.read(dir.resolve("eval.json"))).getAsJsonObject();
        Map<String, Evaluator.Result> results = new LinkedHashMap<>();
        for (var e : o.entrySet()) results.put(e.getKey(), new Gson().fromJson(e.getValue(), Evaluator.Result.class));
        return results;
    }

    private Boolean export(Path wmss) {
        if (parallel.isRoot()) {
            try (TorchModel m = Placement.current().load(wmss)) {
                m.save(out.resolve("final"), s.exportDType(), 5_000_000_000L);
            }
            OutputDir.copyInto(in.tok().files(), out.resolve("final")); // loadable by Hugging Face as is
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
}
