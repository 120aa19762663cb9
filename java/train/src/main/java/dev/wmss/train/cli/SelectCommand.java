package dev.wmss.train.cli;

import com.google.gson.JsonObject;
import dev.wmss.train.loop.OutputDir;
import dev.wmss.train.select.EntropyFile;
import dev.wmss.train.select.Selection;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

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
    @Mixin
    SharedOptions.Data data;
    @Mixin
    SharedOptions.Out out;
    @Option(names = "--variant", defaultValue = "CODE", description = "code (authors' code, default) or paper (arXiv v2); any case.")
    Selection.Variant variant;
    @Option(names = "--alpha", defaultValue = "0.1",
            description = "Weight of the weak model's entropy H0 (code) or of [-dH]+ (paper); default ${DEFAULT-VALUE}.")
    double alpha;
    @Option(names = "--beta", defaultValue = "0.8",
            description = "Weight of [-dH]+ = where the strong model is surer (code) or of H1 (paper); default ${DEFAULT-VALUE}.")
    double beta;
    @Option(names = "--gamma", defaultValue = "0.1",
            description = "Weight of [dH]+ = where the strong model is less sure; default ${DEFAULT-VALUE}.")
    double gamma;
    @Mixin
    SharedOptions.Seed seed;
    @Option(names = "--dedup", negatable = true, description = "Deduplicate the draws (default: only for PAPER).")
    Boolean dedup;

    @Override
    public Integer call() {
        if (dev.wmss.train.loop.DataParallel.environmentRank() != 0) return 0; // under a launcher: rank 0's job
        for (double w : new double[]{alpha, beta, gamma}) {
            if (!(w >= 0) || Double.isInfinite(w)) throw new IllegalArgumentException("--alpha, --beta and --gamma must be >= 0");
        }
        double[] a = EntropyFile.read(h0, "--weak-entropy"), b = EntropyFile.read(h1, "--strong-entropy");
        // the chosen lines are copied as they are (chat stays chat), each with its source_index
        List<JsonObject> examples = data.objects(seed.value);
        if (a.length != examples.size() || b.length != examples.size()) {
            throw new IllegalArgumentException("entropy files have " + a.length + " and " + b.length + " lines, the data "
                    + examples.size() + " examples");
        }
        CommandFiles.requireNotAnInput(out.path, "--out", "--weak-entropy file", h0, "--strong-entropy file", h1,
                "--data file", data.spec);
        CommandFiles.requireOutputFile(out.path, "--out");
        int[] chosen = Selection.select(a, b, variant, alpha, beta, gamma, seed.value,
                dedup == null ? variant == Selection.Variant.PAPER : dedup);
        List<String> lines = new ArrayList<>();
        for (int i : chosen) {
            JsonObject o = examples.get(i).deepCopy();
            o.addProperty("source_index", i);
            lines.add(o.toString());
        }
        OutputDir.write(out.path, () -> Files.write(out.path, lines));
        System.out.println("selected " + chosen.length + " of " + examples.size() + " examples (" + variant + ") -> " + out.path);
        return 0;
    }
}
