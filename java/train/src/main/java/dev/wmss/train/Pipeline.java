package dev.wmss.train;

import dev.wmss.kernels.torch.TorchModel;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.Collator;
import dev.wmss.train.data.Example;
import dev.wmss.train.eval.Evaluator;
import dev.wmss.train.eval.ShardedStats;
import dev.wmss.train.eval.TokenStats;
import dev.wmss.train.loop.DataParallel;
import dev.wmss.train.loop.OutputDir;
import dev.wmss.train.loop.Sampler;
import dev.wmss.train.loop.TrainConfig;
import dev.wmss.train.loop.TrainingRun;
import dev.wmss.train.select.EntropyFile;
import dev.wmss.train.select.Selection;
import dev.wmss.train.task.ArithmeticTasks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The whole WMSS pipeline on the built-in task and a tiny byte-level model, against its fair control:
 * <pre>
 *   base  M0 = SFT of a random model on separate data (the "pretrained" base)
 *   SFT   M0 -> 2 epochs of plain SFT                                  (the control, same budget)
 *   WMSS  M0 -> 1 epoch SFT = M1; H0, H1 -> WD-DS (code variant) -> D_active;
 *         WD-JT weak = M0, strong = M1, 1 epoch over D_active, lambda 0.5 -> keep the strong model
 * </pre>
 * It uses the library (training runs, token statistics, selection), never the command classes. Under a launcher
 * every rank runs it: training stages and entropies are shared, rank 0 writes files, selects and evaluates (the
 * report of other ranks has no evaluations).
 */
final class Pipeline {
    private static final Logger LOG = LoggerFactory.getLogger("dev.wmss.train");

    /** lr: pre-training of the base; tuneLr: the SFT, M1 and WD-JT stages (fine-tuning, as in the paper). */
    record Sizes(int train, int test, int base, int baseEpochs, int hidden, int layers, int batch, int maxLen, int maxNew,
                 double lr, double tuneLr, int levels) {
        static final Sizes DEMO = new Sizes(2000, 200, 2000, 8, 128, 3, 32, 160, 40, 3e-3, 5e-4, 2);
        static final Sizes QUICK = new Sizes(160, 24, 160, 1, 48, 1, 16, 160, 32, 3e-3, 1e-3, 2);
    }

    /** WD-JT's lambda and freezing, and the WD-DS variant (null: every training example once, a control). */
    record Options(float lambda, boolean freezeWeak, Selection.Variant selection) {
        Options {
            // checked here, before the first stage, with the values of the stages that use them
            TrainConfig.builder(TrainConfig.Mode.WMSS).lambda(lambda).freezeWeak(freezeWeak).build();
        }
    }

    static Sizes withLevels(Sizes s, int levels) {
        if (levels < 1 || levels > 3) throw new IllegalArgumentException("--levels must be 1, 2 or 3, got " + levels);
        return new Sizes(s.train(), s.test(), s.base(), s.baseEpochs(), s.hidden(), s.layers(), s.batch(), s.maxLen(),
                s.maxNew(), s.lr(), s.tuneLr(), levels);
    }

    static Selection.Variant selection(String name) {
        return switch (name.toUpperCase(Locale.ROOT)) {
            case "NONE" -> null;
            case "CODE" -> Selection.Variant.CODE;
            case "PAPER" -> Selection.Variant.PAPER;
            default -> throw new IllegalArgumentException("--selection must be CODE, PAPER or NONE, got " + name);
        };
    }

    /** init: the random model's held-out token loss; base: M0's; sft and wmss: the two arms'. */
    record Report(double initTokenLoss, Evaluator.Result base, Evaluator.Result sft, Evaluator.Result wmss, int active,
                  double seconds) {}

    private Pipeline() {}

    static String tinyConfig(Sizes s) {
        return String.format(Locale.ROOT, """
                {"model_type": "qwen3", "vocab_size": %d, "hidden_size": %d, "intermediate_size": %d,
                 "num_hidden_layers": %d, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": %d,
                 "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": true,
                 "max_position_embeddings": 256}""", ByteTokenizer.VOCAB, s.hidden(), 3 * s.hidden(), s.layers(),
                s.hidden() / 4);
    }

    static Report run(Path out, Sizes s, long seed, Options o) {
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
        TrainConfig pretrain = sft.toBuilder().epochs(s.baseEpochs()).lr(s.lr()).build();

        step("init + base model M0 (" + s.baseEpochs() + " epochs on separate data)");
        if (parallel.isRoot()) {
            try (TorchModel init = TorchModel.init(tinyConfig(s), seed)) {
                init.save(out.resolve("init"));
            }
        }
        parallel.barrier(); // every rank reads it next
        double initLoss;
        try (TorchModel init = TorchModel.load(out.resolve("init"))) {
            initLoss = TokenStats.tokenLoss(init, new Collator(split.test(), tok, s.maxLen() + s.maxNew()), 64);
        }
        Path m0 = train(pretrain, new Collator(baseData, tok, s.maxLen()), Sampler.all(baseData.size()), out.resolve("init"),
                null, out.resolve("base"));
        Evaluator.Result base = evaluate(m0, split.test(), tok, s);

        step("control: SFT for 2 epochs");
        Path sft2 = train(sft.toBuilder().epochs(2).build(), train, Sampler.all(train.size()), m0, null, out.resolve("sft-2ep"));

        step("WMSS 1/3: SFT for 1 epoch (M1)");
        Path m1 = train(sft, train, Sampler.all(train.size()), m0, null, out.resolve("sft-1ep"));

        step("WMSS 2/3: WD-DS entropies under M0 and M1, " + (o.selection() == null ? "no selection (control)"
                : o.selection().name().toLowerCase(Locale.ROOT) + "-variant weights"));
        double[] h0, h1;
        try (TorchModel weak = TorchModel.load(m0); TorchModel strong = TorchModel.load(m1)) {
            h0 = ShardedStats.answerEntropy(parallel, weak, train, 64);
            h1 = ShardedStats.answerEntropy(parallel, strong, train, 64);
        }
        int[] active = Sampler.all(train.size());
        if (parallel.isRoot()) {
            EntropyFile.write(out.resolve("entropy-m0.jsonl"), h0);
            EntropyFile.write(out.resolve("entropy-m1.jsonl"), h1);
            if (o.selection() != null) {
                active = Selection.select(h0, h1, o.selection(), Selection.ALPHA, Selection.BETA, Selection.GAMMA, seed,
                        o.selection() == Selection.Variant.PAPER);
            }
        }
        active = parallel.fromRoot(active); // selected once, the same on every rank

        step("WMSS 3/3: WD-JT of weak M0 and strong M1 over D_active (lambda " + o.lambda()
                + (o.freezeWeak() ? ", weak frozen)" : ")"));
        TrainConfig jt = sft.toBuilder().mode(TrainConfig.Mode.WMSS).lambda(o.lambda()).freezeWeak(o.freezeWeak()).build();
        Path wmss = train(jt, train, active, m1, m0, out.resolve("wmss"));

        step("evaluation on " + split.test().size() + " held-out problems");
        Evaluator.Result a = evaluate(sft2, split.test(), tok, s), b = evaluate(wmss, split.test(), tok, s);
        return new Report(initLoss, base, a, b, active.length, (System.nanoTime() - t0) / 1e9);
    }

    /** One stage; a re-run of the demo into the same directory starts each stage afresh. */
    private static Path train(TrainConfig cfg, Collator data, int[] active, Path strong, Path weak, Path out) {
        return TrainingRun.builder(cfg).data(data, active).strong(strong).weak(weak).out(out).startOver(true).prepare().run()
                .strong();
    }

    /** On rank 0 (null on the others, which go on to the next stage and wait for it there). */
    private static Evaluator.Result evaluate(Path model, List<Example> test, ByteTokenizer tok, Sizes s) {
        if (!DataParallel.process().isRoot()) return null;
        try (TorchModel m = TorchModel.load(model)) {
            return Evaluator.evaluate(m, test, tok, s.maxLen() + s.maxNew(), s.maxNew(), 64);
        }
    }

    private static void step(String what) {
        LOG.info("== {}", what);
    }
}
