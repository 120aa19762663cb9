package dev.wmss.train;

import dev.wmss.train.data.Collator;
import dev.wmss.train.data.Example;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.train.loop.DataParallel;
import dev.wmss.train.loop.Sampler;
import dev.wmss.train.loop.TrainConfig;
import dev.wmss.train.loop.TrainingRun;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "wmss", mixinStandardHelpOptions = true,
        description = "WD-JT: joint training of weak (M0) and strong (M1) on mixed logits; keeps the strong model.")
final class WmssCommand implements Callable<Integer> {
    @Option(names = "--weak", required = true, description = "Weak model directory (M0).")
    Path weak;
    @Option(names = "--strong", required = true, description = "Strong model directory (M1).")
    Path strong;
    @Mixin
    SharedOptions.Data data;
    @Mixin
    SharedOptions.Out out;
    @Mixin
    SharedOptions.TokenizerOption tokenizer;
    @Option(names = "--lambda", defaultValue = "0.5", description = "Weight of the strong logits, in [0, 1] (default ${DEFAULT-VALUE}).")
    float lambda;
    @Option(names = "--freeze-weak", description = "Train the strong model only.")
    boolean freezeWeak;
    @Option(names = "--rounds", defaultValue = "1", description = "K rounds; round k+1 uses round k's strong model as weak.")
    int rounds;
    @Mixin
    TrainOptions train;

    @Override
    public Integer call() {
        DataParallel.process(); // under a launcher: join the other ranks before any work
        TrainConfig cfg = train.config(TrainConfig.Mode.WMSS, lambda, freezeWeak);
        if (rounds < 1) throw new IllegalArgumentException("--rounds must be >= 1, got " + rounds);
        if (rounds > 1 && train.resume) throw new IllegalArgumentException("--resume works with --rounds 1 (resume a round's directory)");
        Tokenizer tok = tokenizer.load();
        SharedOptions.checkModel(tok, weak, "--weak");
        SharedOptions.checkModel(tok, strong, "--strong");
        List<Example> examples = data.load(train.seed.value, tok);
        Collator collator = new Collator(examples, tok, train.maxLen.value);
        Path w = weak, s = strong;
        for (int k = 1; k <= rounds; k++) {
            Path dir = rounds == 1 ? out.path : out.path.resolve("round-" + k);
            TrainingRun run = TrainingRun.builder(cfg).data(collator, Sampler.all(examples.size())).strong(s).weak(w).out(dir)
                    .resume(train.resume).head(train.head.value()).prepare();
            if (k == 1 && run.resumesFrom().isEmpty()) { // a resumed run keeps the run.json that describes it
                Map<String, Object> resolved = new LinkedHashMap<>();
                resolved.put("command", "wmss");
                resolved.put("weak", weak.toString());
                resolved.put("strong", strong.toString());
                resolved.put("data", data.spec);
                resolved.put("tokenizer", tokenizer.spec);
                resolved.put("max_len", train.maxLen.value);
                resolved.put("examples", examples.size());
                resolved.put("rounds", rounds);
                resolved.put("head", train.head.value());
                resolved.put("config", cfg);
                Runs.writeConfig(out.path, resolved);
            }
            TrainingRun.Result r = run.run();
            if (r.interrupted()) return 130;
            w = s; // the previous strong model becomes the weak one
            s = r.strong();
            System.out.println("WD-JT round " + k + " done: " + r.strong());
        }
        return 0;
    }
}
