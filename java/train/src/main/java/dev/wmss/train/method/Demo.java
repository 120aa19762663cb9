package dev.wmss.train.method;

import dev.wmss.train.loop.Placement;
import dev.wmss.kernels.DType;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.Collator;
import dev.wmss.train.data.Example;
import dev.wmss.train.eval.Evaluator;
import dev.wmss.train.eval.TokenStats;
import dev.wmss.train.loop.DataParallel;
import dev.wmss.train.loop.Head;
import dev.wmss.train.loop.OutputDir;
import dev.wmss.train.loop.Sampler;
import dev.wmss.train.loop.TrainConfig;
import dev.wmss.train.loop.TrainingRun;
import dev.wmss.train.select.Selection;
import dev.wmss.train.task.ArithmeticTasks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The demo: `run` ({@link Method}) on the built-in task with a tiny byte-level model made here:
 * <pre>
 *   base  M0 = SFT of a random model on separate data (the "pretrained" base)
 *   then the method and its control on M0 ({@link Method}): M1 = 1 SFT epoch; WD-DS; WD-JT of M0 and M1;
 *         the control = 2 SFT epochs; evaluation on the held-out problems; report.md and plots/
 * </pre>
 * It uses the library (training runs, token statistics, selection), never the command classes. Under a launcher
 * every rank runs it: training stages and entropies are shared, rank 0 writes files, selects and evaluates (the
 * report of other ranks has no evaluations).
 */
public final class Demo {
    private static final Logger LOG = LoggerFactory.getLogger("dev.wmss.train");

    /** lr: pre-training of the base; tuneLr: the SFT, M1 and WD-JT stages (fine-tuning, as in the paper). */
    public record Sizes(int train, int test, int base, int baseEpochs, int hidden, int layers, int batch, int maxLen, int maxNew,
                 double lr, double tuneLr, int levels) {
        public static final Sizes DEMO = new Sizes(2000, 200, 2000, 8, 128, 3, 32, 160, 40, 3e-3, 5e-4, 2);
        public static final Sizes QUICK = new Sizes(160, 24, 160, 1, 48, 1, 16, 160, 32, 3e-3, 1e-3, 2);
    }

    /** WD-JT's lambda and freezing, and the WD-DS variant (NONE: every training example once, a control). */
    public record Options(float lambda, boolean freezeWeak, Selection.Variant selection) {
        public Options {
            // checked here, before the first stage, with the values of the stages that use them
            TrainConfig.builder(TrainConfig.Mode.WDJT).lambda(lambda).freezeWeak(freezeWeak).build();
            if (selection == null) throw new IllegalArgumentException("--selection is required (CODE, PAPER or NONE)");
        }
    }

    public static Sizes withLevels(Sizes s, int levels) {
        if (levels < 1 || levels > 3) throw new IllegalArgumentException("--levels must be 1, 2 or 3, got " + levels);
        return new Sizes(s.train(), s.test(), s.base(), s.baseEpochs(), s.hidden(), s.layers(), s.batch(), s.maxLen(),
                s.maxNew(), s.lr(), s.tuneLr(), levels);
    }

    /** init: the random model's held-out token loss; base: M0's; sft and wmss: the two arms'. */
    public record Report(double initTokenLoss, Evaluator.Result base, Evaluator.Result sft, Evaluator.Result wmss, int active,
                  double seconds) {}

    private Demo() {}

    public static String tinyConfig(Sizes s) {
        return String.format(Locale.ROOT, """
                {"model_type": "qwen3", "vocab_size": %d, "hidden_size": %d, "intermediate_size": %d,
                 "num_hidden_layers": %d, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": %d,
                 "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": true,
                 "max_position_embeddings": 256}""", ByteTokenizer.VOCAB, s.hidden(), 3 * s.hidden(), s.layers(),
                s.hidden() / 4);
    }

    public static Report run(Path out, Sizes s, long seed, Options o) {
        long t0 = System.nanoTime();
        DataParallel parallel = DataParallel.process();
        OutputDir.requireWritable(out, "--out");
        ByteTokenizer tok = new ByteTokenizer();
        // one split, so that neither the base data nor the training data contains a test problem
        ArithmeticTasks.Split all = ArithmeticTasks.splits(s.base() + s.train(), s.test(), s.levels(), seed);
        List<Example> baseData = all.train().subList(0, s.base());
        ArithmeticTasks.Split split = new ArithmeticTasks.Split(all.train().subList(s.base(), s.base() + s.train()), all.test());
        Collator train = new Collator(split.train(), tok, s.maxLen());
        TrainConfig sft = TrainConfig.builder(TrainConfig.Mode.SFT).epochs(1).batchSize(s.batch()).lr(s.tuneLr()).seed(seed)
                .logEvery(25).checkpointEvery(0).build();
        // the base model's pre-training is not a stage of the method: warm-up and cosine suit its higher rate
        TrainConfig pretrain = sft.toBuilder().epochs(s.baseEpochs()).lr(s.lr()).warmupRatio(0.1)
                .schedule(TrainConfig.Schedule.COSINE).build();

        step("init + base model M0 (" + s.baseEpochs() + " epochs on separate data)");
        if (parallel.isRoot()) {
            try (TorchModel init = Placement.current().init(tinyConfig(s), seed)) {
                init.save(out.resolve("init"));
            }
        }
        parallel.barrier(); // every rank reads it next
        double initLoss;
        try (TorchModel init = Placement.current().load(out.resolve("init"))) {
            initLoss = TokenStats.tokenLoss(init, new Collator(split.test(), tok, s.maxLen() + s.maxNew()), 64);
        }
        Path m0 = train(pretrain, new Collator(baseData, tok, s.maxLen()), Sampler.all(baseData.size()), out.resolve("init"),
                null, out.resolve("base"));

        // the method and its control on M0, as `run` does (stages in out/: m1, control, wdds, wdjt, eval, final)
        if (parallel.isRoot()) Method.clearStages(out, "the demo's fresh start"); // every stage afresh
        parallel.barrier();
        MethodSettings settings = MethodSettings.builder(sft).command("demo").lambda(o.lambda()).freezeWeak(o.freezeWeak())
                .selection(o.selection()).wdjtEpochs(1).maxNew(s.maxNew()).evalBatch(64).exportDType(DType.F32)
                .inputs(m0, "builtin: the demo's training problems", train, "builtin: the demo's held-out problems",
                        split.test().size(), "byte").build();
        Method.Report r = Method.run(out, settings, new Method.Inputs(m0, train, split.test(), tok, Head.FUSED));
        return new Report(initLoss, r.base(), r.control(), r.wmss(), r.draws(), (System.nanoTime() - t0) / 1e9);
    }

    /** The base model's stage; a re-run of the demo into the same directory starts it afresh. */
    private static Path train(TrainConfig cfg, Collator data, int[] active, Path strong, Path weak, Path out) {
        return TrainingRun.builder(cfg).data(data, active).strong(strong).weak(weak).out(out).startOver(true)
                .tokenizer(new dev.wmss.train.data.ByteTokenizer()).prepare().run()
                .strong();
    }

    private static void step(String what) {
        LOG.info("== {}", what);
    }
}
