package dev.wmss.train;

import dev.wmss.train.data.Batcher;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.train.loop.TrainConfig;
import dev.wmss.train.loop.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "wmss", mixinStandardHelpOptions = true,
        description = "WD-JT: joint training of weak (M0) and strong (M1) on mixed logits; keeps the strong model.")
final class WmssCommand implements Callable<Integer> {
    @Option(names = "--weak", required = true, description = "Weak model directory (M0).")
    Path weak;
    @Option(names = "--strong", required = true, description = "Strong model directory (M1).")
    Path strong;
    @Option(names = "--data", required = true, description = "JSONL file (e.g. from 'select'), or builtin:train.")
    String data;
    @Option(names = "--out", required = true, description = "Run directory: metrics.jsonl, checkpoint/, strong/, weak/.")
    Path out;
    @Option(names = "--tokenizer", defaultValue = "byte", description = "byte (built-in) or a tokenizer.json (default ${DEFAULT-VALUE}).")
    String tokenizer;
    @Option(names = "--lambda", defaultValue = "0.5", description = "Weight of the strong logits (default ${DEFAULT-VALUE}).")
    float lambda;
    @Option(names = "--freeze-weak", description = "Train the strong model only.")
    boolean freezeWeak;
    @Option(names = "--rounds", defaultValue = "1", description = "K rounds; round k+1 uses round k's strong model as weak.")
    int rounds;
    @Mixin
    TrainOptions train;

    @Override
    public Integer call() {
        Tokenizer tok = TokenizerOption.load(tokenizer);
        TokenizerOption.check(tok, weak, "--weak");
        TokenizerOption.check(tok, strong, "--strong");
        if (rounds < 1) throw new IllegalArgumentException("--rounds must be >= 1");
        var examples = DataOption.load(data, train.seed);
        Batcher batcher = new Batcher(examples, tok, train.maxLen);
        TrainConfig cfg = train.config(TrainConfig.Mode.WMSS, lambda, freezeWeak);
        Map<String, Object> resolved = new LinkedHashMap<>();
        resolved.put("command", "wmss");
        resolved.put("weak", weak.toString());
        resolved.put("strong", strong.toString());
        resolved.put("data", data);
        resolved.put("rounds", rounds);
        resolved.put("config", cfg);
        Runs.writeConfig(out, resolved);
        Path w = weak, s = strong;
        for (int k = 1; k <= rounds; k++) {
            Path dir = rounds == 1 ? out : out.resolve("round-" + k);
            Trainer.Result r = Trainer.run(cfg, batcher, Trainer.all(examples.size()), s, w, dir, train.resume);
            if (r.interrupted()) return 130;
            w = s; // the previous strong model becomes the weak one
            s = r.strong();
            System.out.println("WD-JT round " + k + " done: " + r.strong());
        }
        return 0;
    }
}
