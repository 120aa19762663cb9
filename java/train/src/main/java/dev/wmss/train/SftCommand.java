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

@Command(name = "sft", mixinStandardHelpOptions = true, description = "Plain SFT (completion-only loss): M0 -> M1.")
final class SftCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Model directory (config.json + safetensors).")
    Path model;
    @Option(names = "--data", required = true, description = "JSONL file, or builtin:train.")
    String data;
    @Option(names = "--out", required = true, description = "Run directory: metrics.jsonl, checkpoint/, strong/.")
    Path out;
    @Option(names = "--tokenizer", defaultValue = "byte", description = "byte (built-in) or a tokenizer.json (default ${DEFAULT-VALUE}).")
    String tokenizer;
    @Mixin
    TrainOptions train;

    @Override
    public Integer call() {
        Tokenizer tok = TokenizerOption.load(tokenizer);
        TokenizerOption.check(tok, model, "--model");
        var examples = DataOption.load(data, train.seed);
        Batcher batcher = new Batcher(examples, tok, train.maxLen);
        TrainConfig cfg = train.config(TrainConfig.Mode.SFT, 1f, false);
        Map<String, Object> resolved = new LinkedHashMap<>();
        resolved.put("command", "sft");
        resolved.put("model", model.toString());
        resolved.put("data", data);
        resolved.put("examples", examples.size());
        resolved.put("config", cfg);
        Runs.writeConfig(out, resolved);
        Trainer.Result r = Trainer.run(cfg, batcher, Trainer.all(examples.size()), model, null, out, train.resume);
        System.out.println(r.interrupted() ? "stopped at step " + r.steps() : "SFT done: " + r.strong());
        return r.interrupted() ? 130 : 0;
    }
}
