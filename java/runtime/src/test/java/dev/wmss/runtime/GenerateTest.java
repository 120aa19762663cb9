package dev.wmss.runtime;

import dev.wmss.kernels.error.LabelOutOfRangeException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Greedy decoding through the KV cache against decoding by re-running the whole (right-padded) sequences at every
 * step with the full forward: the same tokens, for prompts of different lengths, rows that stop at EOS while others
 * go on, the max_len stop, every model family of FusedOpsTest, fused ops on and off; bad requests are typed errors.
 */
class GenerateTest {
    @AfterEach
    void fusedOpsBackOn() {
        WmssTorch.setFusedOps(true);
    }

    static int[][] byRecomputing(TorchModel m, int[][] prompts, int maxNew, int maxLen, int eos) {
        return GreedyReference.generate(m, prompts, maxNew, maxLen, eos);
    }

    static int[][] prompts(long seed, int n, int vocab) {
        SplittableRandom r = new SplittableRandom(seed);
        int[][] p = new int[n][];
        for (int i = 0; i < n; i++) {
            p[i] = new int[1 + r.nextInt(9)];
            for (int t = 0; t < p[i].length; t++) p[i][t] = r.nextInt(vocab);
        }
        p[0] = new int[]{r.nextInt(vocab)}; // a one-token prompt
        return p;
    }

    static void same(int[][] want, int[][] got, String what) {
        assertEquals(want.length, got.length);
        for (int i = 0; i < want.length; i++) assertArrayEquals(want[i], got[i], what + ", row " + i);
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3-gqa", "llama-mha", "qwen2-bias"})
    void theCacheDecodesWhatRecomputingDecodes(String family) {
        for (boolean fused : new boolean[]{true, false}) {
            WmssTorch.setFusedOps(fused);
            try (TorchModel m = TorchModel.init(FusedOpsTest.CONFIGS.get(family), 11)) {
                int vocab = (int) m.vocab();
                int[][] p = prompts(family.hashCode(), 6, vocab);
                String what = family + (fused ? " fused" : " composite");
                int[][] free = byRecomputing(m, p, 12, 1000, -1);
                same(free, m.generate(p, 12, 1000, -1), what + ", no EOS");
                for (int[] row : free) assertEquals(12, row.length);
                // an EOS that one row produces early: that row stops, the others go on (and may stop too)
                int eos = free[1][3];
                int[][] stopped = byRecomputing(m, p, 12, 1000, eos);
                assertTrue(stopped[1].length <= 3, Arrays.toString(stopped[1]));
                same(stopped, m.generate(p, 12, 1000, eos), what + ", EOS " + eos);
                // the longest sequence reaches max_len
                int longest = Arrays.stream(p).mapToInt(a -> a.length).max().orElseThrow();
                same(byRecomputing(m, p, 12, longest + 4, -1), m.generate(p, 12, longest + 4, -1), what + ", max_len");
                assertEquals(4, m.generate(p, 12, longest + 4, -1)[0].length);
                same(byRecomputing(m, p, 12, longest, -1), m.generate(p, 12, longest, -1), what + ", no room");
                assertEquals(0, m.generate(p, 0, 1000, -1)[2].length, "max_new 0");
            }
        }
    }

    @Test
    void badRequestsAreTypedErrors() {
        try (TorchModel m = TorchModel.init(TorchModelTest.TINY, 1)) {
            assertThrows(IllegalArgumentException.class, () -> m.generate(new int[][]{{1}, {}}, 4, 100, -1));
            LabelOutOfRangeException e = assertThrows(LabelOutOfRangeException.class,
                    () -> m.generate(new int[][]{{1, 2}, {3, 50}}, 4, 100, -1));
            assertTrue(e.getMessage().contains("prompt 1 token 1 = 50"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> m.generate(new int[][]{{1}}, -1, 100, -1));
            assertEquals(0, m.generate(new int[0][], 4, 100, -1).length);
        }
    }
}
