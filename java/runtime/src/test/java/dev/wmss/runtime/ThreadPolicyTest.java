package dev.wmss.runtime;

import dev.wmss.kernels.error.InvalidArgumentException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The thread policy: the Java loader sets OMP_WAIT_POLICY=PASSIVE before the natives load (unless the environment
 * already says otherwise), so libtorch's intra-op pool gets every core; an explicit count overrides it.
 */
class ThreadPolicyTest {
    @Test
    void passiveOpenMpGivesLibtorchEveryCore() {
        String policy = System.getenv("OMP_WAIT_POLICY"), threads = System.getenv("OMP_NUM_THREADS");
        int cores = threads != null ? Integer.parseInt(threads) : Runtime.getRuntime().availableProcessors();
        if (policy == null) {
            assertTrue(WmssTorch.passiveWait(), "the loader sets OMP_WAIT_POLICY=PASSIVE before libgomp loads");
            assertEquals(cores, WmssTorch.numThreads());
        } else if (!policy.equalsIgnoreCase("passive")) {
            assertFalse(WmssTorch.passiveWait());
            assertEquals(1, WmssTorch.numThreads(), "spinning OpenMP workers: one intra-op thread beside OpenBLAS");
        }
        try {
            WmssTorch.setNumThreads(1);
            assertEquals(1, WmssTorch.numThreads());
        } finally {
            WmssTorch.setNumThreads(0);
        }
        assertThrows(InvalidArgumentException.class, () -> WmssTorch.setNumThreads(-1));
    }

    @Test
    void theCachingAllocatorReusesFreedBlocks() {
        WmssTorch.emptyCache();
        try (TorchModel m = TorchModel.init(TorchModelTest.TINY.replace("\"vocab_size\": 50", "\"vocab_size\": 5000"), 1)) {
            long[] before = WmssTorch.cacheStats();
            assertTrue(before[1] > 0, "a cache limit is set");
            try (var arena = java.lang.foreign.Arena.ofConfined()) {
                var ids = arena.allocate(8L * 64, 8);
                for (int i = 0; i < 3; i++) m.forward(ids, null, 4, 16, false); // 64 x 5000 logits: 1.2 MiB each time
            }
            long[] after = WmssTorch.cacheStats();
            assertTrue(after[2] > before[2], "later forwards reuse the first one's blocks: " + java.util.Arrays.toString(after));
        }
        WmssTorch.emptyCache();
        assertEquals(0, WmssTorch.cacheStats()[0]);
    }

    /**
     * Batches of changing length put every step's blocks in other size classes: the cache never holds more than the
     * peak in use allows (it kept every class's blocks: a 9.8M-parameter model at a 151,669-token vocabulary grew by
     * a step's activations per step), while a shape that repeats keeps hitting the cache.
     */
    @Test
    void theCacheDoesNotGrowThePeakWhenShapesChange() {
        WmssTorch.emptyCache();
        try (TorchModel m = TorchModel.init(TorchModelTest.TINY.replace("\"vocab_size\": 50", "\"vocab_size\": 5000"), 1);
             var arena = java.lang.foreign.Arena.ofConfined()) {
            var ids = arena.allocate(8L * 4 * 160, 8);
            long all = 0, largest = 4L * 160 * 5000 * 4;
            for (int seq : new int[]{16, 20, 24, 28, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160}) { // a class each
                for (int step = 0; step < 3; step++) m.forward(ids, null, 4, seq, false);
                all += 4L * seq * 5000 * 4;
            }
            long cached = WmssTorch.cacheStats()[0];
            assertTrue(cached <= 2 * largest, "cached " + cached + " bytes of free blocks; the logits of every length"
                    + " take " + all + ", of the longest " + largest);
            long hits = WmssTorch.cacheStats()[2];
            for (int i = 0; i < 4; i++) m.forward(ids, null, 4, 160, false);
            assertTrue(WmssTorch.cacheStats()[2] > hits, "a repeated shape still reuses its blocks");
        }
        WmssTorch.emptyCache();
    }
}
