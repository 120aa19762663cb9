package dev.wmss.train;

import dev.wmss.kernels.torch.TorchModel;
import dev.wmss.train.data.Batcher;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.Example;
import dev.wmss.train.eval.Evaluator;
import dev.wmss.train.loop.TrainConfig;
import dev.wmss.train.loop.Trainer;
import dev.wmss.train.select.Selection;
import dev.wmss.train.task.ArithmeticTasks;

import java.io.IOException;
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
 */
final class Pipeline {
    /** lr: pre-training of the base; tuneLr: the SFT, M1 and WD-JT stages (fine-tuning, as in the paper). */
    record Sizes(int train, int test, int base, int baseEpochs, int hidden, int layers, int batch, int maxLen, int maxNew,
                 double lr, double tuneLr, int levels) {
        static final Sizes DEMO = new Sizes(2000, 200, 2000, 8, 128, 3, 32, 160, 40, 3e-3, 5e-4, 2);
        static final Sizes QUICK = new Sizes(160, 24, 160, 1, 48, 1, 16, 160, 32, 3e-3, 1e-3, 2);
    }

    static Sizes withLevels(Sizes s, int levels) {
        if (levels < 1 || levels > 3) throw new IllegalArgumentException("--levels must be 1, 2 or 3");
        return new Sizes(s.train(), s.test(), s.base(), s.baseEpochs(), s.hidden(), s.layers(), s.batch(), s.maxLen(),
                s.maxNew(), s.lr(), s.tuneLr(), levels);
    }

    record Report(double baseAccuracy, Evaluator.Result sft, Evaluator.Result wmss, int active, double seconds) {}

    private Pipeline() {}

    static String tinyConfig(Sizes s) {
        return String.format(Locale.ROOT, """
                {"model_type": "qwen3", "vocab_size": %d, "hidden_size": %d, "intermediate_size": %d,
                 "num_hidden_layers": %d, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": %d,
                 "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": true,
                 "max_position_embeddings": 256}""", ByteTokenizer.VOCAB, s.hidden(), 3 * s.hidden(), s.layers(),
                s.hidden() / 4);
    }

    /** selection: the WD-DS variant, or null for every training example once (a control). */
    static Report run(Path out, Sizes s, long seed, float lambda, boolean freezeWeak, Selection.Variant selection)
            throws IOException {
        long t0 = System.nanoTime();
        ByteTokenizer tok = new ByteTokenizer();
        // one split, so that neither the base data nor the training data contains a test problem
        ArithmeticTasks.Split all = ArithmeticTasks.splits(s.base() + s.train(), s.test(), s.levels(), seed);
        List<Example> baseData = all.train().subList(0, s.base());
        ArithmeticTasks.Split split = new ArithmeticTasks.Split(all.train().subList(s.base(), s.base() + s.train()), all.test());
        Batcher train = new Batcher(split.train(), tok, s.maxLen());
        TrainConfig pretrain = new TrainConfig(TrainConfig.Mode.SFT, s.baseEpochs(), s.batch(), 1, s.lr(), 0.1, 0.0, 1.0, 1f,
                false, seed, 25, 0);
        TrainConfig sft = new TrainConfig(TrainConfig.Mode.SFT, 1, s.batch(), 1, s.tuneLr(), 0.1, 0.0, 1.0, 1f, false, seed,
                25, 0);

        step("init + base model M0 (" + s.baseEpochs() + " epochs on separate data)");
        try (TorchModel init = TorchModel.init(tinyConfig(s), seed)) {
            init.save(out.resolve("init"));
        }
        Path m0 = Trainer.run(pretrain, new Batcher(baseData, tok, s.maxLen()), Trainer.all(baseData.size()),
                out.resolve("init"), null, out.resolve("base"), false).strong();
        double baseAcc = evaluate(m0, split.test(), tok, s).accuracy();

        step("control: SFT for 2 epochs");
        Path sft2 = Trainer.run(sft.withEpochs(2), train, Trainer.all(train.size()), m0, null, out.resolve("sft-2ep"),
                false).strong();

        step("WMSS 1/3: SFT for 1 epoch (M1)");
        Path m1 = Trainer.run(sft, train, Trainer.all(train.size()), m0, null, out.resolve("sft-1ep"), false).strong();

        step("WMSS 2/3: WD-DS entropies under M0 and M1, " + (selection == null ? "no selection (control)"
                : selection.name().toLowerCase() + "-variant weights"));
        double[] h0, h1;
        try (TorchModel weak = TorchModel.load(m0); TorchModel strong = TorchModel.load(m1)) {
            h0 = Evaluator.answerEntropy(weak, train, 64);
            h1 = Evaluator.answerEntropy(strong, train, 64);
        }
        EntropyCommand.write(out.resolve("entropy-m0.jsonl"), h0);
        EntropyCommand.write(out.resolve("entropy-m1.jsonl"), h1);
        int[] active = selection == null ? Trainer.all(train.size())
                : SelectCommand.select(h0, h1, selection, Selection.ALPHA, Selection.BETA, Selection.GAMMA, seed,
                        selection == Selection.Variant.PAPER);

        step("WMSS 3/3: WD-JT of weak M0 and strong M1 over D_active (lambda " + lambda
                + (freezeWeak ? ", weak frozen)" : ")"));
        TrainConfig jt = sft.withMode(TrainConfig.Mode.WMSS, lambda);
        jt = new TrainConfig(jt.mode(), jt.epochs(), jt.batchSize(), jt.accum(), jt.lr(), jt.warmupRatio(), jt.weightDecay(),
                jt.maxGradNorm(), lambda, freezeWeak, jt.seed(), jt.logEvery(), jt.checkpointEvery());
        Path wmss = Trainer.run(jt, train, active, m1, m0, out.resolve("wmss"), false).strong();

        step("evaluation on " + split.test().size() + " held-out problems");
        Evaluator.Result a = evaluate(sft2, split.test(), tok, s), b = evaluate(wmss, split.test(), tok, s);
        return new Report(baseAcc, a, b, active.length, (System.nanoTime() - t0) / 1e9);
    }

    private static Evaluator.Result evaluate(Path model, List<Example> test, ByteTokenizer tok, Sizes s) {
        try (TorchModel m = TorchModel.load(model)) {
            return Evaluator.evaluate(m, test, tok, s.maxLen() + s.maxNew(), s.maxNew(), 64);
        }
    }

    private static void step(String what) {
        System.out.println("\n== " + what);
    }
}
