package dev.wmss.train.cli;

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
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "sft", mixinStandardHelpOptions = true, description = "Plain SFT (completion-only loss): M0 -> M1.")
final class SftCommand implements Callable<Integer> {
    @Mixin
    SharedOptions.ModelOption model;
    @Mixin
    SharedOptions.Data data;
    @Mixin
    SharedOptions.Out out;
    @Mixin
    SharedOptions.TokenizerOption tokenizer;
    @Mixin
    TrainOptions train;

    @Override
    public Integer call() {
        DataParallel.process(); // under a launcher: join the other ranks before any work
        TrainConfig cfg = train.config(TrainConfig.Mode.SFT, 1f, false);
        Tokenizer tok = tokenizer.load(model.dir, "--model");
        List<Example> examples = data.load(train.seed.value, tok);
        TrainingRun.Builder b = TrainingRun.builder(cfg).data(new Collator(examples, tok, train.maxLen.value),
                Sampler.all(examples.size())).strong(model.dir).out(out.path).resume(train.resume).restart(train.restart)
                .head(train.head.value()).tokenizer(tok)
                .activationCheckpointing(train.activationCheckpointing);
        if (!train.resume) { // written once the models have loaded: a failed start leaves no run.json behind
            b.onStart(() -> CommandFiles.writeRunJson(out.path, CommandFiles.fields("command", "sft", "model", model.dir.toString(),
                    "data", data.spec, "tokenizer", tokenizer.resolved, "max_len", train.maxLen.value, "head",
                    train.head.value(), "examples", examples.size(), "config", cfg)));
        }
        TrainingRun.Result r = b.prepare().run();
        System.out.println(r.interrupted() ? "stopped at step " + r.steps() : "SFT done: " + r.strong());
        return r.interrupted() ? 130 : 0;
    }
}
