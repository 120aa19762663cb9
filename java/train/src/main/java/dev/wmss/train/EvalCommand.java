package dev.wmss.train;

import dev.wmss.kernels.torch.TorchModel;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.train.eval.Evaluator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Greedy decoding with exact-match accuracy (answers after '####') and token-level loss.")
final class EvalCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Model directory.")
    Path model;
    @Option(names = "--tokenizer", defaultValue = "byte", description = "byte (built-in) or a tokenizer.json (default ${DEFAULT-VALUE}).")
    String tokenizer;
    @Option(names = "--data", defaultValue = "builtin:test", description = "JSONL file or builtin:test (default ${DEFAULT-VALUE}).")
    String data;
    @Option(names = "--max-new", defaultValue = "48", description = "Tokens to generate at most (default ${DEFAULT-VALUE}).")
    int maxNew;
    @Option(names = "--max-len", defaultValue = "256", description = "Context length (default ${DEFAULT-VALUE}).")
    int maxLen;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of the built-in task (default ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() {
        Tokenizer tok = TokenizerOption.load(tokenizer);
        TokenizerOption.check(tok, model, "--model");
        try (TorchModel m = TorchModel.load(model)) {
            Evaluator.Result r = Evaluator.evaluate(m, DataOption.load(data, seed), tok, maxLen, maxNew, 32);
            System.out.printf(Locale.ROOT, "exact match %.1f%% of %d, token loss %.4f%n", 100 * r.accuracy(), r.examples(),
                    r.tokenLoss());
            for (String s : r.samples()) System.out.println("---\n" + s);
        }
        return 0;
    }
}
