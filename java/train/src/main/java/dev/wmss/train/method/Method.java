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
import dev.wmss.train.loop.FileManifest;
import dev.wmss.train.loop.HfModelDir;
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
     *  meets the vocabulary, whether a finished training stage keeps its checkpoints (by default they are deleted once
     *  the stage's marker vouches for its models). What decides the results is in the {@link MethodSettings}. */
    public record Inputs(Path base, Collator train, List<Example> eval, Tokenizer tok, Head head, boolean keepStageCheckpoints,
                         dev.wmss.train.loop.Checkpointing activationCheckpointing) {
        public Inputs(Path base, Collator train, List<Example> eval, Tokenizer tok, Head head) {
            this(base, train, eval, tok, head, false, dev.wmss.train.loop.Checkpointing.AUTO);
        }
    }

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
    /** Each stage's outputs digest ({@link FileManifest#digest}), as its marker records it: what later stages read. */
    private final Map<String, String> digests = new LinkedHashMap<>();

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
        if (!Files.isRegularFile(out.resolve("wdjt").resolve("stage.json"))) { // WD-JT, two models, needs the most memory:
            // refused now, before any stage trains (M1 has M0's shape)
            TrainingRun.builder(s.wdjt()).data(in.train(), Sampler.all(n)).strong(in.base()).weak(in.base())
                    .head(in.head()).activationCheckpointing(in.activationCheckpointing()).requireMemory();
        }
        Path m1 = train("m1", "SFT of M0 for 1 epoch (M1)", s.sft(), Sampler.all(n), in.base(), null, List.of());
        Path control = train("control", "control: SFT of M0 for " + (1 + s.wdjtEpochs()) + " epochs in one schedule",
                s.control(), Sampler.all(n), in.base(), null, List.of());
        int[] active = stage("wdds", "WD-DS: entropies under M0 and M1, " + (s.selection() == Selection.Variant.NONE
                ? "no selection (every example once)" : s.selection() + "-variant draw"), () -> WdDs.run(parallel, in.base(),
                m1, in.train(), in.head(), s.selection(), s.seed(), out.resolve("wdds")).indices(), WdDs::readIndices,
                rel -> true, List.of("m1"));
        Path wmss = train("wdjt", "WD-JT of weak M0 and strong M1 (lambda " + s.lambda()
                + (s.freezeWeak() ? ", weak frozen)" : ")"), s.wdjt(), active, m1, in.base(), List.of("m1", "wdds"));
        Map<String, Evaluator.Result> eval = in.eval() == null ? Map.of()
                : stage("eval", "evaluation on " + in.eval().size() + " examples", () -> evaluate(Map.of("base", in.base(),
                        "m1", m1, "control", control, "wmss", wmss)), this::readEval, rel -> rel.equals("eval.json"),
                        List.of("m1", "control", "wdjt"));
        stage("final", "export of WMSS's strong model", () -> export(wmss), d -> Boolean.TRUE, rel -> true, List.of("wdjt"));
        long unique = java.util.Arrays.stream(active).distinct().count();
        Report r = new Report(eval.get("base"), eval.get("m1"), eval.get("control"), eval.get("wmss"), active.length,
                (int) unique, seconds, (System.nanoTime() - t0) / 1e9);
        if (parallel.isRoot()) MethodReport.write(out, s, r);
        return r;
    }

    /** What a training stage's later stages and the user rely on: its final models and its record of finishing. */
    private static boolean trainingOutput(String rel) {
        return rel.startsWith("strong/") || rel.startsWith("weak/") || rel.equals("finished.json");
    }

    /** A training stage: skipped when done, resumed when a checkpoint is there, else started. */
    private Path train(String name, String what, TrainConfig cfg, int[] active, Path strong, Path weak, List<String> after) {
        Path made = stage(name, what, () -> {
            Path dir = out.resolve(name);
            // run.json, the record of the run's settings, is written once the first stage's models have loaded: a start
            // that fails on its inputs leaves no run behind
            TrainingRun.Result r = TrainingRun.builder(cfg).data(in.train(), active).strong(strong).weak(weak).out(dir)
                    .resumeOrStart().head(in.head()).tokenizer(in.tok()).activationCheckpointing(in.activationCheckpointing())
                    .onStart(() -> {
                        if (!Files.isRegularFile(out.resolve("run.json"))) s.write(out);
                    }).prepare().run();
            if (r.interrupted()) throw new Interrupted();
            return r.strong();
        }, dir -> dir.resolve("strong"), Method::trainingOutput, after);
        // the stage is done and its marker vouches for its models: its checkpoints are of no more use (a damaged model
        // is trained again, from M0), and they are most of a run's disk (optimizer state: 8 bytes per parameter)
        if (!in.keepStageCheckpoints() && parallel.isRoot()) {
            try {
                Checkpointer.deleteTree(out.resolve(name).resolve("checkpoints"));
            } catch (IOException e) {
                LOG.warn("cannot delete {}: {}", out.resolve(name).resolve("checkpoints"), OutputDir.reason(e));
            }
        }
        return made;
    }

    /** Ctrl-C during a training stage: its checkpoint is saved; running the same command again resumes it. */
    public static final class Interrupted extends RuntimeException {
        Interrupted() {
            super("interrupted: the stage's checkpoint is saved; run the same command again to resume", null, false, false);
        }
    }

    /**
     * Runs a stage unless its marker says it is done and still holds: the marker ({@code STAGE/stage.json}, sealed
     * with its own CRC-32C) lists the size and CRC-32C of the stage's outputs (the files of its directory that
     * {@code outputs} selects) and a digest of the outputs of each earlier stage it read ({@code after}). A stage counts
     * as done only when its outputs verify and those earlier stages' outputs are what it read; else it runs again,
     * saying why (a training stage from its newest checkpoint that verifies), and so does every later stage whose
     * inputs it changes. The decision is the same on every rank (they read the same files after the previous stage's
     * barrier). Times each stage, counting earlier invocations that stopped in it.
     */
    private <T> T stage(String name, String what, Supplier<T> body, java.util.function.Function<Path, T> reread,
                        java.util.function.Predicate<String> outputs, List<String> after) {
        // the final model's directory holds the model alone (a Hugging Face directory): its records sit beside it
        Path dir = out.resolve(name), marker = name.equals("final") ? out.resolve("final.stage.json") : dir.resolve("stage.json"),
                spent = name.equals("final") ? out.resolve("final.elapsed.json") : dir.resolve("elapsed.json");
        List<String> stale = staleness(dir, marker, after);
        if (stale != null && stale.isEmpty()) {
            JsonObject m = JsonParser.parseString(OutputDir.read(marker)).getAsJsonObject();
            seconds.put(name, m.get("seconds").getAsDouble());
            digests.put(name, m.has("digest") ? m.get("digest").getAsString() : "unrecorded");
            LOG.info("== {}: done before ({}), skipped", what, marker);
            return reread.apply(dir);
        }
        if (stale != null) {
            LOG.warn("== {}: done before, but {}: running it again", what, String.join("; ", stale));
            parallel.barrier(); // every rank has read the marker before rank 0 deletes it
            if (parallel.isRoot()) OutputDir.delete(marker);
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
            if (parallel.isRoot() && Files.isDirectory(dir)) { // a stage refused before it wrote anything leaves nothing
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
        parallel.barrier(); // the stage's files are complete on every rank's view before they are listed
        FileManifest made = FileManifest.of(dir, outputs);
        digests.put(name, made.digest());
        if (parallel.isRoot()) {
            JsonObject m = new JsonObject();
            m.addProperty("stage", name);
            m.addProperty("what", what);
            m.addProperty("seconds", sec);
            m.add("outputs", made.toJson());
            m.addProperty("digest", made.digest());
            JsonObject inputs = new JsonObject();
            for (String a : after) inputs.addProperty(a, digests.get(a));
            m.add("inputs", inputs);
            m.add("settings", s.toJson()); // what it was made for: a stage of another run, or of edited settings, is no stage of this one
            OutputDir.write(marker, () -> Files.writeString(marker, FileManifest.seal(m) + "\n"));
            if (name.equals("final")) OutputDir.delete(dir.resolve("stage.json")); // where earlier versions put it
        }
        parallel.barrier();
        return result;
    }

    /**
     * Why a stage's marker no longer holds: null without a marker; empty when its outputs verify and the earlier
     * stages it read ({@code after}) still hold what it read; else one line per damaged file or changed input.
     */
    private List<String> staleness(Path dir, Path marker, List<String> after) {
        if (!Files.isRegularFile(marker)) return null;
        JsonObject m;
        try {
            m = JsonParser.parseString(OutputDir.read(marker)).getAsJsonObject();
            FileManifest.checkSeal(m, marker);
        } catch (RuntimeException e) {
            return List.of(marker + " is damaged (" + e.getMessage() + ")");
        }
        if (m.has("settings")) {
            List<String> diff = s.differencesFrom(m.get("settings").toString(), "stage");
            if (!diff.isEmpty()) {
                throw new IllegalArgumentException(dir + " was made with other settings than this run's:\n  "
                        + String.join("\n  ", diff) + "\nit is no stage of this run (copied from another run, or run.json"
                        + " was edited): delete " + dir + " to make it again, or start the run afresh with --restart");
            }
        }
        if (!m.has("outputs")) return List.of(); // a marker of an earlier version: trusted as before
        List<String> problems = new java.util.ArrayList<>(FileManifest.fromJson(m.get("outputs")).problems(dir));
        JsonObject inputs = m.getAsJsonObject("inputs");
        for (String a : after) {
            String was = inputs != null && inputs.has(a) ? inputs.get(a).getAsString() : null;
            if (!java.util.Objects.equals(was, digests.get(a))) problems.add("the " + a + " stage it read was made again since");
        }
        return problems;
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
            HfModelDir.complete(out.resolve("final"), in.tok(), in.base()); // loadable by Hugging Face as is
        }
        return Boolean.TRUE;
    }

    /** An earlier run in out deleted (--restart): its stages, report and run.json; nothing else in out. */
    public static void clearRun(Path out) {
        clearStages(out, "--restart");
        dev.wmss.train.loop.RunFiles.delete(out, dev.wmss.train.loop.RunFiles.METHOD, List.of("run.json"), "--restart");
    }

    /** The stage directories and the report of an earlier run in out, deleted (what: why, for messages). */
    public static void clearStages(Path out, String what) {
        dev.wmss.train.loop.RunFiles.delete(out, dev.wmss.train.loop.RunFiles.METHOD, List.of("m1", "control", "wdds", "wdjt",
                "eval", "final", "final.stage.json", "final.elapsed.json", "plots", "report.md"), what);
    }
}
