package dev.wmss.train;

import com.google.gson.JsonObject;
import dev.wmss.train.data.Example;
import dev.wmss.train.select.Selection;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

@Command(name = "select", mixinStandardHelpOptions = true,
        description = "WD-DS: sampling weights from weak/strong entropies and the draw of the active set (JSONL).")
final class SelectCommand implements Callable<Integer> {
    @Option(names = "--weak-entropy", required = true, description = "JSONL from 'entropy' with the weak model (H0).")
    Path h0;
    @Option(names = "--strong-entropy", required = true, description = "JSONL from 'entropy' with the strong model (H1).")
    Path h1;
    @Option(names = "--data", required = true, description = "The same data the entropies were computed on.")
    String data;
    @Option(names = "--out", required = true, description = "Output JSONL of the selected examples.")
    Path out;
    @Option(names = "--variant", defaultValue = "CODE", description = "CODE (authors' code, default) or PAPER (arXiv v2).")
    Selection.Variant variant;
    @Option(names = "--alpha", defaultValue = "0.1") double alpha;
    @Option(names = "--beta", defaultValue = "0.8") double beta;
    @Option(names = "--gamma", defaultValue = "0.1") double gamma;
    @Option(names = "--seed", defaultValue = "1") long seed;
    @Option(names = "--dedup", negatable = true, description = "Deduplicate the draws (default: only for PAPER).")
    Boolean dedup;

    @Override
    public Integer call() throws IOException {
        List<Example> examples = DataOption.load(data, seed);
        double[] a = EntropyCommand.read(h0), b = EntropyCommand.read(h1);
        if (a.length != examples.size() || b.length != examples.size()) {
            throw new IllegalArgumentException("entropy files have " + a.length + " and " + b.length + " lines, the data "
                    + examples.size() + " examples");
        }
        int[] chosen = select(a, b, variant, alpha, beta, gamma, seed, dedup == null ? variant == Selection.Variant.PAPER : dedup);
        List<String> lines = new ArrayList<>();
        for (int i : chosen) {
            JsonObject o = new JsonObject();
            o.addProperty("prompt", examples.get(i).prompt());
            o.addProperty("response", examples.get(i).response());
            o.addProperty("source_index", i);
            lines.add(o.toString());
        }
        if (out.getParent() != null) Files.createDirectories(out.getParent());
        Files.write(out, lines);
        System.out.println("selected " + chosen.length + " of " + examples.size() + " examples (" + variant + ") -> " + out);
        return 0;
    }

    static int[] select(double[] h0, double[] h1, Selection.Variant v, double alpha, double beta, double gamma, long seed,
                        boolean dedup) {
        return Selection.sample(Selection.weights(h0, h1, alpha, beta, gamma, v), h0.length, seed, dedup);
    }
}
