package dev.wmss.train.cli;

import dev.wmss.train.loop.Placement;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Collator;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.train.eval.ShardedStats;
import dev.wmss.train.loop.DataParallel;
import dev.wmss.train.select.EntropyFile;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "entropy", mixinStandardHelpOptions = true,
        description = "Per-example mean answer entropy of a model (WD-DS's H), as JSONL {index, entropy}.")
final class EntropyCommand implements Callable<Integer> {
    @Mixin
    SharedOptions.DeviceOption placement;
    @Mixin
    SharedOptions.ModelOption model;
    @Mixin
    SharedOptions.Data data;
    @Mixin
    SharedOptions.Out out;
    @Mixin
    SharedOptions.TokenizerOption tokenizer;
    @Mixin
    SharedOptions.MaxLen maxLen;
    @Mixin
    SharedOptions.Seed seed;
    @Mixin
    SharedOptions.HeadOption head;

    @Override
    public Integer call() {
        DataParallel parallel = DataParallel.process(); // under a launcher: each rank computes a part
        dev.wmss.train.loop.Head lossHead = head.value();
        Tokenizer tok = tokenizer.load(model.dir, "--model");
        dev.wmss.train.loop.ModelConfigFile.requireFits(maxLen.checked(), "--max-len", model.dir);
        Collator collator = new Collator(data.load(seed.value, tok), tok, maxLen.checked());
        String noAnswer = collator.checkAnswersFit();
        if (noAnswer != null && parallel.isRoot()) {
            org.slf4j.LoggerFactory.getLogger("dev.wmss.train").warn("{}: their entropy is written as 0 (no answer token"
                    + " is scored), so WD-DS never draws them; raise --max-len", noAnswer);
        }
        CommandFiles.requireNotAnInput(out.path, "--out", "--data file", data.spec);
        CommandFiles.requireOutputFile(out.path, "--out");
        try (TorchModel m = Placement.current().load(model.dir)) {
            double[] h = ShardedStats.answerEntropy(parallel, m, collator, 32, lossHead, "entropies");
            if (parallel.isRoot()) {
                EntropyFile.write(out.path, h);
                System.out.println("wrote " + h.length + " entropies to " + out.path);
            }
        }
        return 0;
    }
}
