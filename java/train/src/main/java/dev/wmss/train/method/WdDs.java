package dev.wmss.train.method;

import com.google.gson.Gson;
import com.google.gson.JsonParser;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Collator;
import dev.wmss.train.eval.ShardedStats;
import dev.wmss.train.loop.DataParallel;
import dev.wmss.train.loop.Head;
import dev.wmss.train.loop.OutputDir;
import dev.wmss.train.loop.Placement;
import dev.wmss.train.select.EntropyFile;
import dev.wmss.train.select.Selection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * WD-DS, the method's selection stage, in one place for every command that runs it (run, demo, wmss, experiment):
 * the mean answer entropy of every training example under the weak model (H0) and the strong model (H1), the
 * variant's weights ({@link Selection}) and the seeded draw of the active set, and its files. The draw's seed is the
 * run's --seed; the paper's variant deduplicates its draws, the code's keeps repeats; NONE trains on every example
 * once (the entropies are still computed: the report plots them).
 */
public final class WdDs {
    /** Examples per batch of the entropy pass. */
    public static final int BATCH = 64;
    private static final Logger LOG = LoggerFactory.getLogger("dev.wmss.train");

    private WdDs() {}

    /** H0 and H1 of every example, in the data's order. */
    public record Entropies(double[] weak, double[] strong) {
        public int size() {
            return weak.length;
        }
    }

    /** The active set: indices into the data (repeats allowed); weights: the variant's, null for NONE. */
    public record Draw(Selection.Variant variant, int examples, int[] indices, double[] weights) {
        public int unique() {
            return (int) Arrays.stream(indices).distinct().count();
        }
    }

    /** The entropies under two models loaded here (every rank calls it: the data-parallel ranks share the work). */
    public static Entropies entropies(DataParallel parallel, Path weak, Path strong, Collator data, Head head) {
        try (TorchModel w = Placement.current().load(weak); TorchModel s = Placement.current().load(strong)) {
            return entropies(parallel, w, s, data, head);
        }
    }

    /** The entropies under two loaded models. */
    public static Entropies entropies(DataParallel parallel, TorchModel weak, TorchModel strong, Collator data, Head head) {
        return new Entropies(ShardedStats.answerEntropy(parallel, weak, data, BATCH, head, "   entropies under the weak model"),
                ShardedStats.answerEntropy(parallel, strong, data, BATCH, head, "   entropies under the strong model"));
    }

    /** The variant's weights and the draw seeded by seed (the same on every rank for the same entropies). */
    public static Draw draw(Entropies h, Selection.Variant variant, long seed) {
        double[] p = variant == Selection.Variant.NONE ? null
                : Selection.weights(h.weak(), h.strong(), Selection.ALPHA, Selection.BETA, Selection.GAMMA, variant);
        int[] indices = p == null ? java.util.stream.IntStream.range(0, h.size()).toArray()
                : Selection.sample(p, h.size(), seed, variant.dedup());
        return new Draw(variant, h.size(), indices, p);
    }

    /** The whole stage: entropies, draw, and (rank 0) the files in dir; every rank returns the same draw. */
    public static Draw run(DataParallel parallel, Path weak, Path strong, Collator data, Head head,
                           Selection.Variant variant, long seed, Path dir) {
        Entropies h = entropies(parallel, weak, strong, data, head);
        Draw d = draw(h, variant, seed);
        if (parallel.isRoot()) {
            write(dir, h, d);
            LOG.info("   WD-DS ({}): {} draws of {} examples ({} unique)", variant, d.indices().length, d.examples(), d.unique());
        }
        return d;
    }

    /** dir/entropy-weak.jsonl, entropy-strong.jsonl and active.json (variant, examples, draws, unique, indices, weights). */
    public static void write(Path dir, Entropies h, Draw d) {
        OutputDir.requireWritable(dir, "--out");
        EntropyFile.write(dir.resolve("entropy-weak.jsonl"), h.weak());
        EntropyFile.write(dir.resolve("entropy-strong.jsonl"), h.strong());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("variant", d.variant().name());
        m.put("examples", d.examples());
        m.put("draws", d.indices().length);
        m.put("unique", d.unique());
        m.put("indices", d.indices());
        if (d.weights() != null) m.put("weights", d.weights());
        OutputDir.writeJson(dir.resolve("active.json"), m);
    }

    /** The draw's indices from dir/active.json. */
    public static int[] readIndices(Path dir) {
        return new Gson().fromJson(JsonParser.parseString(OutputDir.read(dir.resolve("active.json"))).getAsJsonObject()
                .get("indices"), int[].class);
    }
}
