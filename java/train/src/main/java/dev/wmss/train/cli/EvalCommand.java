package dev.wmss.train.cli;

import dev.wmss.train.loop.Placement;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Example;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.train.eval.Evaluator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "eval", mixinStandardHelpOptions = true, defaultValueProvider = SharedOptions.Defaults.class,
        description = "Greedy decoding with exact-match accuracy (answers after '####') and token-level loss.")
final class EvalCommand implements Callable<Integer> {
    @Mixin
    SharedOptions.DeviceOption placement;
    @Mixin
    SharedOptions.ModelOption model;
    @Mixin
    SharedOptions.TokenizerOption tokenizer;
    @Mixin
    SharedOptions.Data data;
    @Option(names = "--max-new", defaultValue = "" + Evaluator.DEFAULT_MAX_NEW,
            description = "New tokens per answer at most, as run's (default ${DEFAULT-VALUE}).")
    int maxNew;
    @Mixin
    SharedOptions.MaxLen maxLen;
    @Mixin
    SharedOptions.Seed seed;

    @Override
    public Integer call() {
        if (dev.wmss.train.loop.DataParallel.environmentRank() != 0) return 0; // under a launcher: rank 0's job
        if (maxNew < 1) throw new IllegalArgumentException("--max-new must be >= 1, got " + maxNew);
        int len = maxLen.checked();
        dev.wmss.train.loop.ModelConfigFile.requireFits(len, "--max-len", model.dir);
        Tokenizer tok = tokenizer.load(model.dir, "--model");
        List<Example> examples = data.load(seed.value, tok);
        dev.wmss.train.eval.Answers.warnIfMissing(examples, data.spec);
        try (TorchModel m = Placement.current().load(model.dir)) {
            // --max-len bounds the token loss's sequences; the answer may add --max-new tokens, as in run
            Evaluator.Result r = Evaluator.evaluate(m, examples, tok, len, maxNew, 32, "evaluation");
            System.out.printf(Locale.ROOT, "exact match %.1f%% of %d, token loss %.4f%n", 100 * r.accuracy(), r.examples(),
                    r.tokenLoss());
            for (String s : r.samples()) System.out.println("---\n" + s);
            if (!r.samples().isEmpty()) System.out.println("---");
        }
        return 0;
    }
}
