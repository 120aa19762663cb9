package dev.wmss.train.cli;

import dev.wmss.train.method.Demo;
import dev.wmss.train.method.Runs;
import dev.wmss.train.loop.Placement;
import dev.wmss.train.data.Collator;
import dev.wmss.train.data.Example;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.kernels.torch.TorchModel;
import dev.wmss.train.eval.ShardedStats;
import dev.wmss.train.loop.DataParallel;
import dev.wmss.train.loop.OutputDir;
import dev.wmss.train.select.EntropyFile;
import dev.wmss.train.select.Selection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
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
    private static final Logger LOG = LoggerFactory.getLogger("dev.wmss.train");
    private static final int ENTROPY_BATCH = 64;

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
    @Option(names = "--selection", defaultValue = "NONE", paramLabel = "NONE|CODE|PAPER",
            description = "NONE (default): train on --data as given (e.g. the output of 'select'); CODE or PAPER: --data is"
                    + " the whole training set and each round runs WD-DS on it (entropies under the round's weak and strong"
                    + " models, the variant's weights, a new draw), writing ROUND/entropy-weak.jsonl, entropy-strong.jsonl"
                    + " and active.json.")
    String selection;
    @Mixin
    TrainOptions train;

    @Override
    public Integer call() {
        DataParallel.process(); // under a launcher: join the other ranks before any work
        TrainConfig cfg = train.config(TrainConfig.Mode.WDJT, joint.lambda, joint.freezeWeak);
        if (rounds < 1) throw new IllegalArgumentException("--rounds must be >= 1, got " + rounds);
        if (rounds > 1 && train.resume) throw new IllegalArgumentException("--resume works with --rounds 1 (resume a round's directory)");
        Selection.Variant variant = Demo.selection(selection);
        if (rounds > 1 && variant == null) {
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
            int[] active = variant == null ? Sampler.all(examples.size()) : select(variant, collator, w, s, dir, k);
            TrainingRun run = TrainingRun.builder(cfg).data(collator, active).strong(s).weak(w).out(dir)
                    .resume(train.resume).head(train.head.value()).prepare();
            if (k == 1 && run.resumesFrom().isEmpty()) { // a resumed run keeps the run.json that describes it
                Map<String, Object> resolved = new LinkedHashMap<>();
                resolved.put("command", "wmss");
                resolved.put("weak", weak.toString());
                resolved.put("strong", strong.toString());
                resolved.put("data", data.spec);
                resolved.put("tokenizer", tokenizer.resolved);
                resolved.put("max_len", train.maxLen.value);
                resolved.put("examples", examples.size());
                resolved.put("rounds", rounds);
                resolved.put("selection", variant == null ? "NONE" : variant.name());
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

    /** WD-DS of round k: entropies of every example under this round's weak and strong models, then the draw. */
    private int[] select(Selection.Variant variant, Collator data, Path weakModel, Path strongModel, Path dir, int round) {
        DataParallel parallel = DataParallel.process();
        double[] h0, h1;
        try (TorchModel wm = Placement.current().load(weakModel); TorchModel sm = Placement.current().load(strongModel)) {
            h0 = ShardedStats.answerEntropy(parallel, wm, data, ENTROPY_BATCH, train.head.value(), "entropies under the weak model");
            h1 = ShardedStats.answerEntropy(parallel, sm, data, ENTROPY_BATCH, train.head.value(), "entropies under the strong model");
        }
        int[] active = new int[0];
        if (parallel.isRoot()) {
            OutputDir.requireWritable(dir, "--out");
            EntropyFile.write(dir.resolve("entropy-weak.jsonl"), h0);
            EntropyFile.write(dir.resolve("entropy-strong.jsonl"), h1);
            // each round its own draw: the seed of round k is seed + k - 1
            active = Selection.select(h0, h1, variant, Selection.ALPHA, Selection.BETA, Selection.GAMMA,
                    train.seed.value + round - 1, variant == Selection.Variant.PAPER);
            Runs.writeJson(dir.resolve("active.json"), java.util.Map.of("round", round, "variant", variant.name(),
                    "examples", data.size(), "draws", active.length,
                    "unique", java.util.Arrays.stream(active).distinct().count(), "indices", active));
            LOG.info("round {}: WD-DS ({}) drew {} of {} examples ({} unique)", round, variant, active.length, data.size(),
                    java.util.Arrays.stream(active).distinct().count());
        }
        return parallel.fromRoot(active); // the same draw on every rank
    }
}
