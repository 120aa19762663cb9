package dev.wmss.runtime;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static dev.wmss.runtime.DistWorker.check;

/**
 * One rank of {@link ZeroTest}: ZeRO stage 1 against the whole optimizer on the same summed gradients, every parameter
 * compared bit for bit after each step. {@code ZeroWorker write <model> <state>}: steps, then saves the whole state,
 * the weights and this rank's shard, and resumes from each on this world size; {@code ZeroWorker read <model> <state>}:
 * resumes the shards another world size wrote.
 */
public final class ZeroWorker {
    private ZeroWorker() {}

    static final double LR = 1e-2, CLIP = 0.5, DECAY = 0.1;

    public static void main(String[] args) throws Exception {
        Path model = Path.of(args[1]), state = Path.of(args[2]);
        try (ProcessGroup pg = ProcessGroup.fromEnvironment()) {
            List<String> names = DistWorker.names(model);
            switch (args[0]) {
                case "write" -> write(pg, model, state, names);
                case "read" -> read(pg, state, names);
                default -> throw new IllegalArgumentException(args[0]);
            }
            pg.barrier();
        }
        System.out.println("done");
    }

    static TorchModel optimized(Path dir) {
        TorchModel m = TorchModel.load(dir);
        m.adamW(LR, 0.9, 0.999, 1e-8, DECAY);
        return m;
    }

    static TorchModel sharded(ProcessGroup pg, Path dir) {
        TorchModel m = optimized(dir);
        pg.shardOptimizer(m, 1);
        TorchModel.OptimizerShard s = m.optimizerShard();
        long total = m.parameterCount();
        check(s.stage() == 1 && s.total() == total, "shard " + s + " of " + total);
        check(s.from() == total * pg.rank() / pg.worldSize() && s.to() == total * (pg.rank() + 1) / pg.worldSize(),
                "rank " + pg.rank() + "'s slice " + s);
        return m;
    }

    /** steps steps of every model on the same micro-batches (rank r's), each compared with the first, bit for bit. */
    static void steps(ProcessGroup pg, List<String> names, int first, int steps, TorchModel... models) {
        for (int step = first; step < first + steps; step++) {
            double[] norms = new double[models.length];
            for (int i = 0; i < models.length; i++) {
                DistWorker.microBatch(models[i], pg.rank(), step % 2);
                pg.allReduceGradients(models[i], ProcessGroup.Op.SUM);
                norms[i] = models[i].step(LR, CLIP);
            }
            for (int i = 1; i < models.length; i++) {
                check(norms[i] == norms[0], "step " + step + ": gradient norm " + norms[i] + " vs " + norms[0]);
                for (String n : names) {
                    float[] a = models[0].parameter(n)[0].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                    float[] b = models[i].parameter(n)[0].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                    check(Arrays.equals(a, b), "step " + step + ": model " + i + "'s " + n + " differs from the whole"
                            + " optimizer's");
                }
            }
            System.out.printf("step %d: norm %.6f, %d models identical%n", step, norms[0], models.length);
        }
    }

    static void write(ProcessGroup pg, Path model, Path state, List<String> names) throws Exception {
        Path shards = state.resolve("shards"), weights = state.resolve("weights");
        try (TorchModel whole = optimized(model); TorchModel zero = sharded(pg, model)) {
            steps(pg, names, 0, 3, whole, zero);
            if (pg.isRoot()) {
                Files.createDirectories(shards);
                whole.saveOptimizer(state.resolve("optimizer.pt"));
                whole.save(weights);
            }
            pg.barrier();
            zero.saveOptimizer(shards.resolve(TorchModel.OptimizerShard.fileName(pg.rank(), pg.worldSize())));
            pg.barrier();
            // resumed: from the shards (sharded and whole) and from the whole state (sharded)
            try (TorchModel fromShards = sharded(pg, weights); TorchModel fromWhole = sharded(pg, weights);
                 TorchModel wholeFromShards = optimized(weights)) {
                check(fromShards.loadOptimizerShards(shards) == pg.worldSize(), "the shards' world size");
                fromWhole.loadOptimizer(state.resolve("optimizer.pt"));
                check(wholeFromShards.loadOptimizerShards(shards) == pg.worldSize(), "the shards' world size (whole)");
                steps(pg, names, 3, 2, whole, fromShards, fromWhole, wholeFromShards);
            }
        }
        System.out.println("zero write ok");
    }

    static void read(ProcessGroup pg, Path state, List<String> names) {
        Path weights = state.resolve("weights");
        try (TorchModel whole = optimized(weights); TorchModel fromShards = sharded(pg, weights)) {
            whole.loadOptimizer(state.resolve("optimizer.pt"));
            int written = fromShards.loadOptimizerShards(state.resolve("shards"));
            check(written != pg.worldSize(), "shards of another world size (" + written + ")");
            steps(pg, names, 3, 2, whole, fromShards);
        }
        System.out.println("zero read ok");
    }
}
