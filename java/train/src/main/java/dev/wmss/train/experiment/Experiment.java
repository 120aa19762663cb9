package dev.wmss.train.experiment;

import dev.wmss.train.loop.Placement;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.Collator;
import dev.wmss.train.data.Example;
import dev.wmss.train.eval.Answers;
import dev.wmss.train.eval.Generator;
import dev.wmss.train.eval.TokenStats;
import dev.wmss.train.loop.Checkpointer;
import dev.wmss.train.loop.DataParallel;
import dev.wmss.train.loop.Head;
import dev.wmss.train.loop.OutputDir;
import dev.wmss.train.loop.Sampler;
import dev.wmss.train.loop.TrainConfig;
import dev.wmss.train.loop.TrainingRun;
import dev.wmss.train.method.Method;
import dev.wmss.train.method.WdDs;
import dev.wmss.train.select.Selection;
import dev.wmss.train.settings.SettingsDiff;
import dev.wmss.train.task.ArithmeticTasks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An experiment that can show WMSS's effect or fail to, on the built-in task:
 * <pre>
 *   base       M0: a random model trained as a plain language model on the task's text without the answer format
 *   seed-k/m1  M1: SFT of M0 on the seed's small training set until it nearly saturates
 *   seed-k/regime  M0 and M1 scored (test and train), entropies, the WD-DS draw; the gates ({@link Regime})
 *   validation     teacher-forced exact match against greedy decoding on the first test problems (seed 1's M1)
 *   seed-k/ARM     every arm ({@link Arm}) from the same M1 (the control from M0), scored on the test problems
 * </pre>
 * The arms run only when every seed passes the gates (or when forced, which the report then says). Each stage writes
 * result.json when done; with resume, done stages are read back and a training stage without one starts over.
 */
public final class Experiment {
    private static final Logger LOG = LoggerFactory.getLogger("dev.wmss.train");
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().disableHtmlEscaping()
            .serializeSpecialFloatingPointValues().create();
    static final int EVAL_BATCH = 64;

    /** validation: TF exact match vs greedy answer match; regimes and arms' scores per seed (empty when gated). */
    public record Result(ExperimentSpec spec, Validation validation, List<Regime> regimes, boolean gatesPassed,
                         boolean forced, Map<Integer, Map<String, ArmResult>> arms, List<Arm> armList,
                         Map<String, Double> seconds, Smoke smoke) {}

    /**
     * The check of a smoke run (--quick), whose sizes are too small to pass the regime gates: every trained model
     * (each seed's M1 and every arm) has a lower held-out token loss than M0, i.e. every stage learned something.
     * failures: the models that did not; empty when it passed.
     */
    public record Smoke(List<String> failures) {
        public boolean passed() {
            return failures.isEmpty();
        }
    }

    /**
     * Agreement of teacher-forced exact match with greedy decoding's answer match on the same problems. It proves
     * something only when some problem was right: with none right under either, both are trivially "all wrong".
     */
    public record Validation(int problems, int agree, int tfRight, int greedyRight) {
        public double agreement() {
            return problems == 0 ? Double.NaN : (double) agree / problems;
        }

        public boolean informative() {
            return tfRight + greedyRight > 0;
        }

        public boolean passes() {
            return problems == 0 || agreement() >= 0.98 && informative();
        }
    }

    /** An arm's result in one seed. */
    public record ArmResult(Scores test, long steps, double seconds) {}

    private final Path out;
    private final ExperimentSpec s;
    private final ByteTokenizer tok = new ByteTokenizer();
    private final Map<String, Double> seconds = new LinkedHashMap<>();
    private final ArithmeticTasks.Split pool;
    private final Collator test;

    private Experiment(Path out, ExperimentSpec s) {
        this.out = out;
        this.s = s;
        this.pool = pool(s);
        this.test = new Collator(pool.test(), tok, s.maxLen());
    }

    /** Runs (or, with resume, continues) the experiment in out; force: run the arms even when a gate fails. */
    public static Result run(Path out, ExperimentSpec spec, boolean resume, boolean force) {
        return run(out, spec, resume, force, false);
    }

    /**
     * The same; smoke: a smoke test of every stage (--quick): the arms run whatever the gates say (they are reported,
     * not enforced) and {@link Smoke}'s check, which can fail, decides.
     */
    public static Result run(Path out, ExperimentSpec spec, boolean resume, boolean force, boolean smoke) {
        Path record = out.resolve("experiment.json");
        if (resume && !Files.isRegularFile(record)) {
            throw new IllegalArgumentException("--resume: nothing to resume in " + out + " (no experiment.json): run"
                    + " without --resume to start an experiment there");
        }
        OutputDir.requireWritable(out, "--out");
        com.google.gson.JsonObject want = new com.google.gson.JsonObject();
        want.add("spec", GSON.toJsonTree(spec));
        if (Files.isRegularFile(record)) {
            if (!resume) {
                throw new IllegalArgumentException(out + " holds an experiment: --resume continues it, or choose another --out");
            }
            List<String> diff = differences(JsonParser.parseString(read(record)).getAsJsonObject().get("spec"), spec);
            if (!diff.isEmpty()) {
                throw new IllegalArgumentException("--resume: " + out + " holds an experiment with other settings:\n  "
                        + String.join("\n  ", diff) + "\nuse the experiment's settings, or another --out for a new experiment");
            }
        } else {
            write(record, GSON.toJson(want));
        }
        return new Experiment(out, spec).execute(force, smoke);
    }

    /**
     * "--seeds: experiment 2, now 3" for each setting in which spec differs from the recorded one. Earlier versions
     * recorded the spec as its text (ExperimentSpec[lmTexts=..., ...], which a record still prints the same way).
     */
    static List<String> differences(JsonElement recorded, ExperimentSpec spec) {
        if (recorded != null && recorded.isJsonPrimitive()) {
            String was = recorded.getAsString();
            if (was.equals(spec.toString())) return List.of();
            JsonObject fields = new JsonObject();
            Matcher x = Pattern.compile("(\\w+)=(\\[[^\\]]*\\]|[^,\\]]*)").matcher(was);
            while (x.find()) fields.addProperty(x.group(1), x.group(2));
            recorded = fields;
        }
        return SettingsDiff.of(recorded, spec, GSON, "experiment");
    }

    private Result execute(boolean force, boolean smoke) {
        List<Arm> arms = Arm.all(s.lambda(), s.sweep());
        Path m0 = stage("base", "M0: a plain language model on " + s.lmTexts() + " texts of the task (no answer format), "
                + s.lmEpochs() + " epochs", Path.class, this::base);
        List<Regime> regimes = new ArrayList<>();
        for (int k = 1; k <= s.seeds(); k++) {
            int seed = k;
            Path m1 = stage("seed-" + k + "/m1", "seed " + k + ": M1 = SFT of M0 for " + s.m1Epochs() + " epochs on "
                    + s.train() + " problems", Path.class, () -> m1(seed, m0));
            regimes.add(stage("seed-" + k + "/regime", "seed " + k + ": M0 and M1 scored, entropies, WD-DS draw",
                    Regime.class, () -> regime(seed, m0, m1)));
            Regime r = regimes.getLast();
            LOG.info(String.format(Locale.ROOT, "   seed %d: M0 %.1f%%, M1 %.1f%% (train %.1f%%), ΔH < 0 on %.0f%%: gates %s",
                    k, 100 * r.m0Test().exactMatch(), 100 * r.m1Test().exactMatch(), 100 * r.m1Train().exactMatch(),
                    100 * r.shareNegativeDh(), r.passes() ? "passed" : "FAILED"));
        }
        Validation v = stage("validation", "teacher-forced exact match vs greedy decoding on " + s.validate()
                + " test problems (seed 1's M1)", Validation.class, () -> validate(out.resolve("seed-1/m1/strong")));
        boolean passed = regimes.stream().allMatch(Regime::passes) && v.passes();
        Map<Integer, Map<String, ArmResult>> results = new LinkedHashMap<>();
        if (passed || force || smoke) {
            if (!passed && smoke) LOG.info("a gate failed, as expected at --quick's sizes: the arms run (a smoke test)");
            else if (!passed) LOG.warn("a gate failed; the arms run because --force was given (the report says so)");
            for (int k = 1; k <= s.seeds(); k++) {
                Map<String, ArmResult> perArm = new LinkedHashMap<>();
                for (Arm a : arms) {
                    int seed = k;
                    Regime r = regimes.get(k - 1);
                    perArm.put(a.name(), stage("seed-" + k + "/" + a.name(), "seed " + k + ": " + a.title(),
                            ArmResult.class, () -> arm(seed, a, m0, out.resolve("seed-" + seed + "/m1/strong"), r)));
                }
                results.put(k, perArm);
            }
        } else {
            LOG.warn("a regime gate failed: the arms are not run (the report says which gate; --force runs them anyway)");
        }
        Result result = new Result(s, v, regimes, passed, force && !passed && !smoke, results, arms, seconds,
                smoke ? smoke(regimes, results) : null);
        ExperimentReport.write(out, result);
        return result;
    }

    static Smoke smoke(List<Regime> regimes, Map<Integer, Map<String, ArmResult>> arms) {
        List<String> failures = new ArrayList<>();
        for (Regime r : regimes) {
            double m0 = r.m0Test().tokenLoss();
            if (!(r.m1Test().tokenLoss() < m0)) {
                failures.add(String.format(Locale.ROOT, "seed %d M1 (%.4f, M0 %.4f)", r.seed(), r.m1Test().tokenLoss(), m0));
            }
            for (var a : arms.getOrDefault(r.seed(), Map.of()).entrySet()) {
                double l = a.getValue().test().tokenLoss();
                if (!(l < m0)) failures.add(String.format(Locale.ROOT, "seed %d %s (%.4f, M0 %.4f)", r.seed(), a.getKey(), l, m0));
            }
        }
        if (failures.isEmpty()) LOG.info("smoke check passed: every trained model's held-out token loss is below M0's");
        else LOG.warn("smoke check FAILED: held-out token loss not below M0's for {}", String.join("; ", failures));
        return new Smoke(failures);
    }

    private Path base() {
        Path init = out.resolve("base-init");
        try (TorchModel m = Placement.current().init(tinyConfig(), s.dataSeed())) {
            m.save(init);
        }
        List<Example> texts = new ArrayList<>();
        for (Example e : pool.train().subList(0, s.lmTexts())) texts.add(ArithmeticTasks.plainText(e));
        TrainConfig cfg = TrainConfig.builder(TrainConfig.Mode.SFT).epochs(s.lmEpochs()).batchSize(ExperimentSpec.LM_BATCH).lr(s.lmLr())
                .warmupRatio(0.1).schedule(TrainConfig.Schedule.COSINE).seed(s.dataSeed()).logEvery(25).checkpointEvery(0)
                .build();
        Path strong = train(cfg, new Collator(texts, tok, s.maxLen()), Sampler.all(texts.size()), init, null, "base");
        deleteTree(init);
        return strong;
    }

    private String tinyConfig() {
        return String.format(Locale.ROOT, """
                {"model_type": "qwen3", "vocab_size": %d, "hidden_size": %d, "intermediate_size": %d,
                 "num_hidden_layers": %d, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": %d,
                 "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": true,
                 "max_position_embeddings": %d}""", ByteTokenizer.VOCAB, s.hidden(), 3 * s.hidden(), s.layers(),
                s.hidden() / 4, s.maxLen() + 8);
    }

    /** The seed's SFT set: its own slice of the pool (never a test problem, never M0's texts). */
    private Collator trainSet(int seed) {
        return new Collator(trainingSet(s, pool, seed), tok, s.maxLen());
    }

    /** The SFT problems of a seed of an experiment (what its M1 and arms train on, and WD-DS draws from). */
    public static List<Example> trainingSet(ExperimentSpec spec, int seed) {
        return trainingSet(spec, pool(spec), seed);
    }

    private static List<Example> trainingSet(ExperimentSpec spec, ArithmeticTasks.Split pool, int seed) {
        int from = spec.lmTexts() + (seed - 1) * spec.train();
        return pool.train().subList(from, from + spec.train());
    }

    private static ArithmeticTasks.Split pool(ExperimentSpec s) {
        return ArithmeticTasks.splits(s.lmTexts() + s.seeds() * s.train(), s.test(), s.levels(), s.dataSeed());
    }

    /** Every second stage's schedule: one epoch at lr, linear decay without warm-up (the authors' code). */
    private TrainConfig.Builder tune(int seed) {
        return TrainConfig.builder(TrainConfig.Mode.SFT).epochs(1).batchSize(s.batch()).lr(s.lr()).seed(seed)
                .logEvery(s.logEvery()).checkpointEvery(0);
    }

    private Path m1(int seed, Path m0) {
        return train(tune(seed).epochs(s.m1Epochs()).build(), trainSet(seed), Sampler.all(s.train()), m0, null,
                "seed-" + seed + "/m1");
    }

    private Regime regime(int seed, Path m0, Path m1) {
        Collator train = trainSet(seed);
        Scores m0Test, m1Test, m0Train, m1Train;
        WdDs.Entropies h;
        try (TorchModel weak = Placement.current().load(m0); TorchModel strong = Placement.current().load(m1)) {
            m0Test = Scores.of(weak, test, EVAL_BATCH);
            m1Test = Scores.of(strong, test, EVAL_BATCH);
            m0Train = Scores.of(weak, train, EVAL_BATCH);
            m1Train = Scores.of(strong, train, EVAL_BATCH);
            h = WdDs.entropies(DataParallel.single(), weak, strong, train, Head.FUSED);
        }
        double[] h0 = h.weak(), h1 = h.strong();
        int negative = 0;
        double sum0 = 0, sum1 = 0;
        for (int i = 0; i < h0.length; i++) {
            if (h1[i] - h0[i] < 0) negative++;
            sum0 += h0[i];
            sum1 += h1[i];
        }
        WdDs.Draw draw = WdDs.draw(h, Selection.Variant.CODE, seed); // the method's WD-DS, seeded by the seed's --seed
        return new Regime(seed, m0Test, m1Test, m0Train, m1Train, sum0 / h0.length, sum1 / h1.length,
                (double) negative / h0.length, draw.indices(), draw.unique());
    }

    private Validation validate(Path m1) {
        int n = s.validate();
        if (n == 0) return new Validation(0, 0, 0, 0);
        Collator first = test.slice(0, n);
        int agree = 0, tf = 0, greedy = 0;
        try (TorchModel m = Placement.current().load(m1)) {
            boolean[] tfRight = TokenStats.teacherForcedExactMatch(m, first, EVAL_BATCH);
            for (int b0 = 0; b0 < n; b0 += EVAL_BATCH) {
                int b1 = Math.min(n, b0 + EVAL_BATCH);
                int[][] prompts = new int[b1 - b0][];
                for (int i = b0; i < b1; i++) prompts[i - b0] = first.promptTokens(i);
                String[] made = Generator.greedy(m, tok, prompts, s.maxLen(), s.maxLen());
                for (int i = b0; i < b1; i++) {
                    boolean g = Answers.matches(pool.test().get(i).response(), made[i - b0]);
                    if (g == tfRight[i]) agree++;
                    if (g) greedy++;
                    if (tfRight[i]) tf++;
                }
            }
        }
        LOG.info(String.format(Locale.ROOT, "   agreement %.1f%% (teacher-forced %d right, greedy %d right of %d)",
                100.0 * agree / n, tf, greedy, n));
        return new Validation(n, agree, tf, greedy);
    }

    private ArmResult arm(int seed, Arm a, Path m0, Path m1, Regime r) {
        int[] examples = a.selection() ? r.draw() : Sampler.all(s.train());
        TrainConfig cfg = switch (a.kind()) {
            case CONTROL -> Method.control(tune(seed).epochs(s.m1Epochs()).build(), 1);
            // the same order as the joint arms': WD-JT's order seed
            case SFT -> tune(seed).seed(seed ^ Sampler.JOINT_SALT).build();
            case JOINT -> Method.wdjt(tune(seed).build(), 1, a.lambda(), a.frozenWeak())
                    .lossTokens(TrainConfig.LossTokens.COMPLETION).build();
            case TEMPERATURE -> tune(seed).mode(TrainConfig.Mode.TEMPERATURE).lambda(a.lambda())
                    .lossTokens(TrainConfig.LossTokens.COMPLETION).build();
        };
        String dir = "seed-" + seed + "/" + a.name();
        long t0 = System.nanoTime();
        Path strong = train(cfg, trainSet(seed), examples, a.kind() == Arm.Kind.CONTROL ? m0 : m1, a.joint() ? m0 : null, dir);
        double sec = (System.nanoTime() - t0) / 1e9;
        Scores sc;
        try (TorchModel m = Placement.current().load(strong)) {
            sc = Scores.of(m, test, EVAL_BATCH);
        }
        // the weak model of a joint arm is not needed after it: only the strong one is kept (as the method does)
        if (a.joint()) deleteTree(out.resolve(dir).resolve("weak"));
        LOG.info(String.format(Locale.ROOT, "   %s: %.1f%% (test token loss %.4f)", a.name(), 100 * sc.exactMatch(), sc.tokenLoss()));
        return new ArmResult(sc, (long) Math.ceil((double) examples.length / s.batch()) * cfg.epochs(), sec);
    }

    private Path train(TrainConfig cfg, Collator data, int[] active, Path strong, Path weak, String dir) {
        return TrainingRun.builder(cfg).data(data, active).strong(strong).weak(weak).out(out.resolve(dir)).startOver(true)
                .tokenizer(new dev.wmss.train.data.ByteTokenizer()).prepare().run().strong();
    }

    /** Runs a stage unless its result.json is there (then reads it back); times it. */
    private <T> T stage(String name, String what, Class<T> type, Supplier<T> body) {
        Path dir = out.resolve(name), done = dir.resolve("result.json");
        if (Files.isRegularFile(done)) {
            LOG.info("== {}: done before, read from {}", what, done);
            Stored stored = GSON.fromJson(read(done), Stored.class);
            seconds.put(name, stored.seconds);
            return type == Path.class ? type.cast(out.resolve(stored.path)) : GSON.fromJson(GSON.toJsonTree(stored.value), type);
        }
        LOG.info("== {}", what);
        long t0 = System.nanoTime();
        T v = body.get();
        double sec = (System.nanoTime() - t0) / 1e9;
        seconds.put(name, sec);
        Stored stored = new Stored();
        stored.seconds = sec;
        if (v instanceof Path p) stored.path = out.relativize(p).toString();
        else stored.value = GSON.toJsonTree(v);
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + dir + ": " + OutputDir.reason(e), e);
        }
        write(done, GSON.toJson(stored));
        return v;
    }

    private static final class Stored {
        double seconds;
        String path;
        com.google.gson.JsonElement value;
    }

    static String read(Path f) {
        try {
            return Files.readString(f);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f + ": " + OutputDir.reason(e), e);
        }
    }

    static void write(Path f, String text) {
        OutputDir.write(f, () -> Files.writeString(f, text.endsWith("\n") ? text : text + "\n"));
    }

    private static void deleteTree(Path p) {
        try {
            if (Files.exists(p)) Checkpointer.deleteTree(p);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + p + ": " + OutputDir.reason(e), e);
        }
    }
}
