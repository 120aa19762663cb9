package dev.wmss.runtime;

import dev.wmss.kernels.error.BackendUnavailableException;
import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.ShapeMismatchException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * ZeRO stage 1 ({@link ProcessGroup#shardOptimizer}): on 2 ranks, every parameter after every step is the whole
 * optimizer's, bit for bit (clipped steps, weight decay); a resume from the shards, from the whole state and of a
 * whole optimizer from the shards continues bit for bit; 3 ranks resume the 2 ranks' shards. Misuse and damaged or
 * foreign shards are typed errors.
 */
class ZeroTest {
    static void run(Path tmp, int world, String... args) throws Exception {
        List<DistributedTest.Rank> ranks = DistributedTest.spawn(tmp.resolve("logs-" + world), world, ZeroWorker.class,
                Map.of(), args);
        try {
            String out;
            int[] codes = new int[world];
            for (int r = 0; r < world; r++) codes[r] = DistributedTest.await(ranks.get(r), DistributedTest.CHILD_LIMIT);
            out = DistributedTest.outputs(ranks);
            for (int r = 0; r < world; r++) {
                assertEquals(0, codes[r], out);
                assertTrue(ranks.get(r).output().contains("zero " + args[0] + " ok"), out);
            }
        } finally {
            DistributedTest.killAll(ranks);
        }
    }

    @Test
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    void shardedStepsAreTheWholeOptimizersAndResumeOnAnyWorldSize(@TempDir Path tmp) throws Exception {
        Path model = TorchModelTest.model("tiny-qwen3"), state = tmp.resolve("state");
        Files.createDirectories(tmp.resolve("logs-2"));
        Files.createDirectories(tmp.resolve("logs-3"));
        run(tmp, 2, "write", model.toString(), state.toString());
        assertTrue(Files.exists(state.resolve("shards").resolve("optimizer.zero-00000-of-00002.pt")));
        assertTrue(Files.exists(state.resolve("shards").resolve("optimizer.zero-00001-of-00002.pt")));
        run(tmp, 3, "read", model.toString(), state.toString());
    }

    @Test
    void misuseAndBadShardsAreTypedErrors(@TempDir Path tmp) throws Exception {
        Path dir = TorchModelTest.model("tiny-qwen3");
        try (ProcessGroup pg = ProcessGroup.single(); TorchModel m = TorchModel.load(dir);
             TorchModel other = TorchModel.load(TorchModelTest.model("tiny-llama"))) {
            assertThrows(InvalidArgumentException.class, () -> pg.shardOptimizer(m, 1), "no optimizer yet");
            m.adamW(1e-3, 0.9, 0.999, 1e-8, 0);
            var e = assertThrows(BackendUnavailableException.class, () -> pg.shardOptimizer(m, 2));
            assertTrue(e.getMessage().contains("stage 2 is not implemented"), e.getMessage());
            assertEquals(0, m.optimizerShard().stage());
            pg.shardOptimizer(m, 1);
            assertEquals(new TorchModel.OptimizerShard(1, 0, m.parameterCount(), m.parameterCount()), m.optimizerShard());
            Path shards = Files.createDirectories(tmp.resolve("shards"));
            var none = assertThrows(InvalidArgumentException.class, () -> m.loadOptimizerShards(shards));
            assertTrue(none.getMessage().contains("no optimizer shards"), none.getMessage());
            DistWorker.microBatch(m, 0, 0);
            m.step(1e-3, 1);
            Path file = shards.resolve(TorchModel.OptimizerShard.fileName(0, 1));
            m.saveOptimizer(file);
            assertEquals(1, m.loadOptimizerShards(shards));
            // another model's shard
            other.adamW(1e-3, 0.9, 0.999, 1e-8, 0);
            pg.shardOptimizer(other, 1);
            var shape = assertThrows(ShapeMismatchException.class, () -> other.loadOptimizerShards(shards));
            assertTrue(shape.getMessage().contains("another model"), shape.getMessage());
            // a truncated shard
            byte[] all = Files.readAllBytes(file);
            Files.write(file, java.util.Arrays.copyOf(all, all.length / 2));
            var cut = assertThrows(InvalidArgumentException.class, () -> m.loadOptimizerShards(shards));
            assertTrue(cut.getMessage().contains("not a readable optimizer state"), cut.getMessage());
            // a whole optimizer file where a shard belongs
            try (TorchModel w = TorchModel.load(dir)) {
                w.adamW(1e-3, 0.9, 0.999, 1e-8, 0);
                w.saveOptimizer(file);
            }
            var foreign = assertThrows(InvalidArgumentException.class, () -> m.loadOptimizerShards(shards));
            assertTrue(foreign.getMessage().contains("not a ZeRO optimizer shard"), foreign.getMessage());
            // sharded after a step: refused
            try (TorchModel late = TorchModel.load(dir)) {
                late.adamW(1e-3, 0.9, 0.999, 1e-8, 0);
                DistWorker.microBatch(late, 0, 0);
                late.step(1e-3, 1);
                var after = assertThrows(InvalidArgumentException.class, () -> pg.shardOptimizer(late, 1));
                assertTrue(after.getMessage().contains("before its first step"), after.getMessage());
            }
        }
    }
}
