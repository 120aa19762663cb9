package dev.wmss.train.cli;

import dev.wmss.train.method.WdDs;
import dev.wmss.train.data.Collator;
import dev.wmss.train.data.Example;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.train.loop.DataParallel;
import dev.wmss.train.select.Selection;
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

@Command(name = "wmss", mixinStandardHelpOptions = true, defaultValueProvider = SharedOptions.Defaults.class,
        description = {"WD-JT: joint training of weak (M0) and strong (M1) on mixed logits; keeps the strong model.",
                "--selection NONE (default): train on --data as given (e.g. the output of 'select'); CODE or PAPER: --data"
                        + " is the whole training set and each round runs WD-DS on it (entropies under the round's weak and"
                        + " strong models, the variant's weights, a draw seeded by --seed + round - 1), writing"
                        + " ROUND/entropy-weak.jsonl, entropy-strong.jsonl and active.json."})
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
    @Mixin
    SharedOptions.Joint joint;
    @Option(names = "--rounds", defaultValue = "1",
            description = "K rounds (Algorithm 1): round k+1 uses round k's strong model as weak and its result as strong,"
                    + " and re-runs WD-DS (needs --selection CODE or PAPER).")
    int rounds;
    @Mixin
    SharedOptions.SelectionOption selection;
    @Mixin
    TrainOptions train;

    @Override
    public Integer call() {
        DataParallel.process(); // under a launcher: join the other ranks before any work
        TrainConfig cfg = train.config(TrainConfig.Mode.WDJT, joint.lambda, joint.freezeWeak);
        if (rounds < 1) throw new IllegalArgumentException("--rounds must be >= 1, got " + rounds);
        if (rounds > 1 && train.resume) throw new IllegalArgumentException("--resume works with --rounds 1 (resume a round's directory)");
        Selection.Variant variant = selection.variant;
        if (rounds > 1 && variant == Selection.Variant.NONE) {
            throw new IllegalArgumentException("--rounds " + rounds + " re-runs WD-DS in every round (the paper's Algorithm 1):"
                    + " give --selection CODE or PAPER and the whole training set as --data");
        }
        Tokenizer tok = tokenizer.load(strong, "--strong");
        tokenizer.check(tok, weak, "--weak");
        List<Example> examples = data.load(train.seed.value, tok);
        Collator collator = new Collator(examples, tok, train.maxLen.value);
        Path w = weak, s = strong;
        for (int k = 1; k <= rounds; k++) {
            Path dir = rounds == 1 ? out.path : out.path.resolve("round-" + k);
            // WD-DS of round k: entropies under this round's weak and strong models, then a draw of its own
            int[] active = variant == Selection.Variant.NONE ? Sampler.all(examples.size())
                    : WdDs.run(DataParallel.process(), w, s, collator, train.head.value(), variant, train.seed.value + k - 1, dir)
                    .indices();
            TrainingRun.Builder b = TrainingRun.builder(cfg).data(collator, active).strong(s).weak(w).out(dir)
                    .resume(train.resume).restart(train.restart && k == 1).head(train.head.value()).tokenizer(tok)
                    .activationCheckpointing(train.activationCheckpointing);
            if (k == 1 && !train.resume) { // a resumed run keeps the run.json that describes it; written once the
                // models have loaded, so that a failed start leaves none behind
                Map<String, Object> resolved = new LinkedHashMap<>();
                resolved.put("command", "wmss");
                resolved.put("weak", weak.toString());
                resolved.put("strong", strong.toString());
                resolved.put("data", data.spec);
                resolved.put("tokenizer", tokenizer.resolved);
                resolved.put("max_len", train.maxLen.value);
                resolved.put("examples", examples.size());
                resolved.put("rounds", rounds);
                resolved.put("selection", variant.name());
                resolved.put("head", train.head.value());
                resolved.put("config", cfg);
                b.onStart(() -> CommandFiles.writeRunJson(out.path, resolved));
            }
            TrainingRun.Result r = b.prepare().run();
            if (r.interrupted()) return 130;
            w = s; // the previous strong model becomes the weak one
            s = r.strong();
            System.out.println("WD-JT round " + k + " done: " + r.strong());
        }
        return 0;
    }
}
