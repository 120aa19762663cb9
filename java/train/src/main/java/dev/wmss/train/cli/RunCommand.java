package dev.wmss.train.cli;

import dev.wmss.train.method.SettingsDiff;
import dev.wmss.train.method.Demo;
import dev.wmss.train.method.Method;
import dev.wmss.train.method.Runs;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.kernels.DType;
import dev.wmss.train.data.Collator;
import dev.wmss.train.data.Example;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.train.loop.ContentHash;
import dev.wmss.train.loop.DataParallel;
import dev.wmss.train.loop.ModelFingerprint;
import dev.wmss.train.loop.TrainConfig;
import dev.wmss.train.select.Selection;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;

@Command(name = "run", mixinStandardHelpOptions = true,
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
    @Option(names = "--selection", defaultValue = "CODE", paramLabel = "CODE|PAPER|NONE",
            description = "WD-DS variant: CODE (the authors' code, default), PAPER, or NONE (every example once).")
    String selection;
    @Option(names = "--max-new", defaultValue = "" + dev.wmss.train.eval.Evaluator.DEFAULT_MAX_NEW,
            description = "Evaluation: new tokens per answer at most, as eval's (default ${DEFAULT-VALUE}).")
    int maxNew;
    @Option(names = "--eval-batch", defaultValue = "32", description = "Evaluation: prompts decoded together (default ${DEFAULT-VALUE}).")
    int evalBatch;
    @Option(names = "--export-dtype", defaultValue = "BF16", description = "F32 or BF16: RUN/final's weights (default ${DEFAULT-VALUE}).")
    DType exportDType;
    @Mixin
    TrainOptions options;

    @Override
    public Integer call() {
        DataParallel.process(); // under a launcher: join the other ranks before any work
        // every option is checked before the first stage: --epochs is WD-JT's (M1 is 1 SFT epoch, the control 1 + it)
        TrainConfig sft = options.config(TrainConfig.Mode.SFT, 1f, false).toBuilder().epochs(1)
                .lossTokens(TrainConfig.LossTokens.COMPLETION).build();
        Selection.Variant variant = Demo.selection(selection);
        if (exportDType != DType.F32 && exportDType != DType.BF16) throw new IllegalArgumentException("--export-dtype must be F32 or BF16");
        eval = evalSpec(eval);
        Tokenizer tok = tokenizer.load(base, "--base");
        List<Example> trainSet = SharedOptions.Data.named("--train", train).load(options.seed.value, tok);
        List<Example> evalSet = eval == null ? null : SharedOptions.Data.named("--eval", eval).load(options.seed.value, tok);
        if (evalSet != null) dev.wmss.train.eval.Answers.warnIfMissing(evalSet, "--eval " + eval);
        Method.Spec spec = new Method.Spec(base, new Collator(trainSet, tok, options.maxLen.checked()), evalSet, tok, sft,
                options.epochs, joint.lambda, joint.freezeWeak, variant, options.lossTokens, options.head.value(), maxNew, evalBatch,
                exportDType);
        Collator collator = spec.train();
        // inputs by content (hashed once per process): the same path and size with other contents is another run
        String settings = new GsonBuilder().setPrettyPrinting().create().toJson(Runs.fields("command", "run",
                "base", base.toString(), "train", train, "eval", eval, "tokenizer", tokenizer.resolved, "max_len",
                options.maxLen.value, "examples", trainSet.size(), "eval_examples", evalSet == null ? 0 : evalSet.size(),
                "lambda", joint.lambda, "freeze_weak", joint.freezeWeak, "selection", variant == null ? "NONE" : variant.name(),
                "wdjt_epochs", options.epochs, "max_new", maxNew, "eval_batch", evalBatch, "export_dtype", exportDType.name(),
                "sft", sft, "wdjt", spec.jt().build(), "base_sha256", ModelFingerprint.of(base),
                "train_sha256", dataHash(train), "eval_sha256", eval == null ? "none" : dataHash(eval),
                "tokenizer_sha256", tokenizerHash(tokenizer.spec), "truncation", collator.truncation()));
        checkResume(settings);
        DataParallel.process().barrier(); // every rank has checked before rank 0 writes run.json
        if (DataParallel.process().isRoot()) {
            Runs.writeJson(out.path.resolve("run.json"), JsonParser.parseString(settings));
        }
        Method.Report r;
        try {
            r = Method.run(out.path, spec);
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

    /** Option names of run.json's fields (and of the SFT / WD-JT configurations' fields), for messages. */
    private static final Map<String, String> OPTION_NAMES = Map.ofEntries(Map.entry("base", "--base"),
            Map.entry("train", "--train"), Map.entry("eval", "--eval"), Map.entry("tokenizer", "--tokenizer"),
            Map.entry("max_len", "--max-len"), Map.entry("examples", "training examples"),
            Map.entry("eval_examples", "evaluation examples"), Map.entry("lambda", "--lambda"),
            Map.entry("freeze_weak", "--freeze-weak"), Map.entry("freezeWeak", "--freeze-weak"),
            Map.entry("selection", "--selection"), Map.entry("wdjt_epochs", "--epochs"), Map.entry("wdjt.epochs", "--epochs"),
            Map.entry("max_new", "--max-new"), Map.entry("eval_batch", "--eval-batch"),
            Map.entry("export_dtype", "--export-dtype"), Map.entry("batchSize", "--batch"), Map.entry("accum", "--accum"),
            Map.entry("lr", "--lr"), Map.entry("warmupRatio", "--warmup"), Map.entry("weightDecay", "--weight-decay"),
            Map.entry("maxGradNorm", "--clip"), Map.entry("seed", "--seed"), Map.entry("schedule", "--schedule"),
            Map.entry("adamBeta2", "--adam-beta2"), Map.entry("clipScope", "--clip-scope"),
            Map.entry("wdjt.lossTokens", "--loss-tokens"),
            Map.entry("base_sha256", "--base's contents (SHA-256 of config.json and the weights)"),
            Map.entry("train_sha256", "--train's contents (SHA-256)"), Map.entry("eval_sha256", "--eval's contents (SHA-256)"),
            Map.entry("tokenizer_sha256", "--tokenizer's files (SHA-256)"),
            Map.entry("truncation.examples", "examples cut by --max-len"),
            Map.entry("truncation.tokens", "tokens cut by --max-len"), Map.entry("truncation.total", "training examples"),
            Map.entry("truncation.maxLen", "--max-len"));

    /** SHA-256 of a data file, or the spec itself for a built-in set (made from --seed, which is recorded too). */
    static String dataHash(String spec) {
        Path f = Path.of(spec);
        return Files.isRegularFile(f) ? ContentHash.file(f) : spec;
    }

    /** SHA-256 of the tokenizer's files (tokenizer.json and what is read beside it), or "byte". */
    static String tokenizerHash(String spec) {
        if (spec == null || spec.equals("byte")) return String.valueOf(spec);
        Path json = Files.isDirectory(Path.of(spec)) ? Path.of(spec, "tokenizer.json") : Path.of(spec);
        List<Path> files = new ArrayList<>(List.of(json));
        for (String sibling : List.of("tokenizer_config.json", "chat_template.jinja")) {
            if (Files.isRegularFile(json.resolveSibling(sibling))) files.add(json.resolveSibling(sibling));
        }
        return ContentHash.files(files);
    }

    private static void print(String name, dev.wmss.train.eval.Evaluator.Result e) {
        System.out.printf(Locale.ROOT, "%-36s %11.1f%% %12.4f%n", name, 100 * e.accuracy(), e.tokenLoss());
    }

    /** A run directory is continued only with --resume, and only with the settings it was made with. */
    private void checkResume(String settings) {
        Path previous = out.path.resolve("run.json");
        boolean exists = Files.isRegularFile(previous);
        if (exists && !options.resume) {
            throw new IllegalArgumentException(out.path + " holds a run (run.json): continue it with --resume, or choose another --out");
        }
        if (!exists && options.resume) throw new IllegalArgumentException("--resume: no run in " + out.path + " (no run.json)");
        if (!exists) return;
        JsonObject was = JsonParser.parseString(Method.read(previous)).getAsJsonObject();
        JsonObject now = JsonParser.parseString(settings).getAsJsonObject();
        List<String> diff = SettingsDiff.of(was, now, OPTION_NAMES, Set.of("logEvery", "checkpointEvery"));
        if (!diff.isEmpty()) {
            throw new IllegalArgumentException("--resume: " + out.path + " was made with other settings:\n  "
                    + String.join("\n  ", diff) + "\nuse the run's settings, or another --out for a new run");
        }
    }

    /** --eval as given, or null for none: "none" (any case) unless a file of that name exists. */
    static String evalSpec(String eval) {
        return eval != null && eval.equalsIgnoreCase("none") && !java.nio.file.Files.exists(java.nio.file.Path.of(eval)) ? null : eval;
    }
}
