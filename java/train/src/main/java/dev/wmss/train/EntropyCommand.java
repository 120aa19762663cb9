package dev.wmss.train;

import com.google.gson.JsonObject;
import dev.wmss.kernels.torch.TorchModel;
import dev.wmss.train.data.Batcher;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.train.eval.Evaluator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "entropy", mixinStandardHelpOptions = true,
        description = "Per-example mean answer entropy of a model (WD-DS's H), as JSONL {index, entropy}.")
final class EntropyCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Model directory.")
    Path model;
    @Option(names = "--data", required = true, description = "JSONL file or builtin:train.")
    String data;
    @Option(names = "--out", required = true, description = "Output JSONL.")
    Path out;
    @Option(names = "--tokenizer", defaultValue = "byte", description = "byte (built-in) or a tokenizer.json (default ${DEFAULT-VALUE}).")
    String tokenizer;
    @Option(names = "--max-len", defaultValue = "256", description = "Tokens per example (default ${DEFAULT-VALUE}).")
    int maxLen;
    @Option(names = "--seed", defaultValue = "1", description = "Seed of the built-in task (default ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws IOException {
        Tokenizer tok = TokenizerOption.load(tokenizer);
        TokenizerOption.check(tok, model, "--model");
        try (TorchModel m = TorchModel.load(model)) {
            double[] h = Evaluator.answerEntropy(m, new Batcher(DataOption.load(data, seed), tok, maxLen), 32);
            write(out, h);
            System.out.println("wrote " + h.length + " entropies to " + out);
        }
        return 0;
    }

    static void write(Path out, double[] h) throws IOException {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < h.length; i++) {
            JsonObject o = new JsonObject();
            o.addProperty("index", i);
            o.addProperty("entropy", h[i]);
            lines.add(o.toString());
        }
        if (out.getParent() != null) Files.createDirectories(out.getParent());
        Files.write(out, lines);
    }

    static double[] read(Path file) throws IOException {
        List<String> lines = Files.readAllLines(file).stream().filter(l -> !l.isBlank()).toList();
        double[] h = new double[lines.size()];
        for (int n = 0; n < lines.size(); n++) {
            try {
                JsonObject o = com.google.gson.JsonParser.parseString(lines.get(n)).getAsJsonObject();
                h[o.get("index").getAsInt()] = o.get("entropy").getAsDouble();
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(file + ":" + (n + 1) + ": not an entropy line: " + e.getMessage());
            }
        }
        return h;
    }
}
