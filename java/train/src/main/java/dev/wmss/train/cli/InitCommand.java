package dev.wmss.train.cli;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.HfTokenizer;
import dev.wmss.train.data.StrictJson;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.train.loop.HfModelDir;
import dev.wmss.train.loop.OutputDir;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

@Command(name = "init", mixinStandardHelpOptions = true,
        description = {"A new base model with random weights, from a config.json or a preset, sized to a tokenizer:"
                + " its vocabulary sets vocab_size, its files and a generation config go beside the weights, so OUT is a"
                + " Hugging Face model directory that sft, run and the others take as --model / --base.",
                "Presets: " + InitCommand.PRESET_NAMES})
final class InitCommand implements Callable<Integer> {
    static final String PRESET_NAMES = dev.wmss.train.plan.Presets.NAMES;
    static final Map<String, String> PRESETS = dev.wmss.train.plan.Presets.CONFIGS;

    static final class Shape {
        @Option(names = "--config", paramLabel = "FILE", description = "A config.json (its vocab_size is set from the tokenizer).")
        Path config;
        @Option(names = "--preset", paramLabel = "NAME", description = "An architecture's shape: " + PRESET_NAMES + ".")
        String preset;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Shape shape;
    @Option(names = "--tokenizer", paramLabel = "DIR|FILE|byte", defaultValue = "byte",
            description = "The tokenizer (tokenizer.json or its directory; default ${DEFAULT-VALUE}: the built-in byte tokenizer).")
    String tokenizer;
    @Mixin
    SharedOptions.Out out;
    @Mixin
    SharedOptions.Seed seed;

    @Override
    public Integer call() throws IOException {
        if (dev.wmss.train.loop.DataParallel.environmentRank() != 0) return 0; // under a launcher: rank 0's job
        String text;
        if (shape.preset != null) {
            text = PRESETS.get(shape.preset.toLowerCase(java.util.Locale.ROOT));
            if (text == null) throw new IllegalArgumentException("--preset " + shape.preset + " is not one of: " + PRESET_NAMES);
        } else {
            try {
                text = Files.readString(shape.config);
            } catch (IOException e) {
                throw new UncheckedIOException("--config: cannot read " + shape.config + ": " + OutputDir.reason(e), e);
            }
        }
        JsonObject config;
        try {
            config = StrictJson.parse(text).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new IllegalArgumentException((shape.config != null ? "--config " + shape.config : "--preset") + ": "
                    + e.getMessage());
        }
        if (Files.exists(out.path.resolve("config.json")) || Files.exists(out.path.resolve("model.safetensors"))) {
            throw new IllegalArgumentException("--out " + out.path + " already holds a model: choose another --out");
        }
        Tokenizer tok = tokenizer.equals("byte") ? new ByteTokenizer() : HfTokenizer.load(Path.of(tokenizer));
        try {
            config.addProperty("vocab_size", tok.vocabSize());
            if (tok.bos() >= 0) config.addProperty("bos_token_id", tok.bos());
            config.addProperty("eos_token_id", tok.eos());
            String json = new GsonBuilder().setPrettyPrinting().create().toJson(config);
            long params;
            try (TorchModel m = TorchModel.init(json, seed.value)) { // the native parser checks every field, naming it
                params = m.parameterCount();
                m.save(out.path);
            }
            HfModelDir.complete(out.path, tok, null);
            System.out.printf(java.util.Locale.ROOT, "a new model of %,d parameters (vocabulary %,d, seed %d) -> %s%n",
                    params, tok.vocabSize(), seed.value, out.path);
        } finally {
            if (tok instanceof HfTokenizer h) h.close();
        }
        return 0;
    }
}
