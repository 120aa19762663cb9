package dev.wmss.train.cli;

import dev.wmss.train.method.Method;
import dev.wmss.train.method.MethodSettings;
import dev.wmss.kernels.DType;
import dev.wmss.train.data.Collator;
import dev.wmss.train.data.Example;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.train.loop.DataParallel;
import dev.wmss.train.loop.TrainConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "run", mixinStandardHelpOptions = true, defaultValueProvider = SharedOptions.Defaults.class,
        description = {"The whole method (SFT, WD-DS, WD-JT, evaluation, export) on your model and data, with its control.",
                "SFT (M1) -> entropies under M0 and M1 -> WD-DS -> WD-JT -> evaluation -> export, and plain SFT for"
                        + " 1 + --epochs epochs from M0 (the fair control).",
                "Writes RUN/report.md and RUN/plots/*.png. A finished stage is not redone: run the same command with"
                        + " --resume to continue after a stop (a half-done stage resumes from its checkpoint)."})
final class RunCommand implements Callable<Integer> {
    @Option(names = "--base", required = true, paramLabel = "M0", description = "The base model directory (config.json + safetensors).")
    Path base;
    @Option(names = "--train", required = true, paramLabel = "D",
            description = "Training data: JSONL (prompt/response, question/answer, chat) or builtin:train.")
    String train;
    @Option(names = "--eval", paramLabel = "T",
            description = "Evaluation data (answers after '####' are compared); none: no evaluation stage.")
    String eval;
    @Mixin
    SharedOptions.Out out;
    @Mixin
    SharedOptions.TokenizerOption tokenizer;
    @Mixin
    SharedOptions.Joint joint;
    @Mixin
    SharedOptions.SelectionOption selection;
    @Option(names = "--max-new", defaultValue = "" + dev.wmss.train.eval.Evaluator.DEFAULT_MAX_NEW,
            description = "Evaluation: new tokens per answer at most, as eval's (default ${DEFAULT-VALUE}).")
    int maxNew;
    @Option(names = "--eval-batch", defaultValue = "32", description = "Evaluation: prompts decoded together (default ${DEFAULT-VALUE}).")
    int evalBatch;
    @Option(names = "--export-dtype", defaultValue = "BF16", description = "F32 or BF16: RUN/final's weights (default ${DEFAULT-VALUE}).")
    DType exportDType;
    @Option(names = "--keep-stage-checkpoints",
            description = "Keep a finished training stage's checkpoints (by default deleted once its models are vouched for).")
    boolean keepStageCheckpoints;
    @Mixin
    TrainOptions options;

    @Override
    public Integer call() {
        DataParallel.process(); // under a launcher: join the other ranks before any work
        // every option is checked before the first stage: --epochs is WD-JT's (M1 is 1 SFT epoch, the control 1 + it)
        TrainConfig sft = options.config(TrainConfig.Mode.SFT, 1f, false).toBuilder().epochs(1)
                .lossTokens(TrainConfig.LossTokens.COMPLETION).build();
        MethodSettings.Builder settings = MethodSettings.builder(sft).lambda(joint.lambda).freezeWeak(joint.freezeWeak)
                .selection(selection.variant).wdjtEpochs(options.epochs).wdjtLossTokens(options.lossTokens).maxNew(maxNew)
                .evalBatch(evalBatch).exportDType(exportDType);
        eval = evalSpec(eval);
        Tokenizer tok = tokenizer.load(base, "--base");
        List<Example> trainSet = SharedOptions.Data.named("--train", train).load(options.seed.value, tok);
        List<Example> evalSet = eval == null ? null : SharedOptions.Data.named("--eval", eval).load(options.seed.value, tok);
        if (evalSet != null) dev.wmss.train.eval.Answers.warnIfMissing(evalSet, "--eval " + eval);
        Collator collator = new Collator(trainSet, tok, options.maxLen.checked());
        // inputs by content (hashed once per process): the same path and size with other contents is another run
        MethodSettings s = settings.inputs(base, train, collator, eval, evalSet == null ? 0 : evalSet.size(), tokenizer.resolved)
                .contentHashes(tokenizer.spec).build();
        if (options.restart && options.resume) throw new IllegalArgumentException("--restart and --resume exclude each other");
        if (options.restart && DataParallel.process().isRoot()) Method.clearRun(out.path); // and start afresh
        DataParallel.process().barrier();
        s.checkResume(out.path, options.resume);
        DataParallel.process().barrier(); // every rank has checked before rank 0 writes run.json (once M1's models load)
        Method.Report r;
        try {
            r = Method.run(out.path, s, new Method.Inputs(base, collator, evalSet, tok, options.head.value(),
                    keepStageCheckpoints, options.activationCheckpointing));
        } catch (Method.Interrupted e) {
            System.err.println(e.getMessage() + " (with --resume)");
            return 130;
        }
        if (!DataParallel.process().isRoot()) return 0;
        if (r.control() != null) {
            System.out.printf(Locale.ROOT, "%n%-36s %12s %12s%n", "evaluation (" + r.control().examples() + ")", "exact match", "token loss");
            print("M0 (base)", r.base());
            print("M1 (SFT, 1 epoch)", r.m1());
            print("control: SFT, " + (1 + options.epochs) + " epochs", r.control());
            print("WMSS: M1 + WD-JT", r.wmss());
        }
        System.out.println("\nreport: " + out.path.resolve("report.md").toAbsolutePath() + "; WMSS model: " + out.path.resolve("final"));
        return 0;
    }

    private static void print(String name, dev.wmss.train.eval.Evaluator.Result e) {
        System.out.printf(Locale.ROOT, "%-36s %11.1f%% %12.4f%n", name, 100 * e.accuracy(), e.tokenLoss());
    }

    /** --eval as given, or null for none: "none" (any case) unless a file of that name exists. */
    static String evalSpec(String eval) {
        return eval != null && eval.equalsIgnoreCase("none") && !java.nio.file.Files.exists(java.nio.file.Path.of(eval)) ? null : eval;
    }
}
