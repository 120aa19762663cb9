package dev.wmss.train.loop;

import com.google.gson.JsonParser;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.Collator;
import dev.wmss.train.task.ArithmeticTasks;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.*;

/** The data-parallel arithmetic that needs no second process: shards, ranges, merged diagnostics, slices. */
class DataParallelTest {
    static int[] flatten(int[][] micro) {
        return Arrays.stream(micro).flatMapToInt(Arrays::stream).toArray();
    }

    @Test
    void theRanksShardsOfAStepAreTheStepInOrder() {
        int[] active = Sampler.all(23);
        for (int batch : new int[]{1, 3, 4}) {
            for (int accum : new int[]{1, 2, 3}) {
                Sampler s = new Sampler(active, batch, accum, 7);
                for (long step = 0; step < s.totalSteps(2); step++) {
                    assertArrayEquals(s.microBatches(step), s.shard(step, 0, 1), "one rank: the step itself");
                    int[] whole = flatten(s.microBatches(step));
                    for (int world = 2; world <= 5; world++) {
                        List<Integer> union = new ArrayList<>();
                        for (int r = 0; r < world; r++) {
                            int[][] mine = s.shard(step, r, world);
                            for (int[] m : mine) assertTrue(m.length >= 1 && m.length <= batch, "micro-batches of at most B");
                            int[] flat = flatten(mine);
                            int from = whole.length * r / world, to = whole.length * (r + 1) / world;
                            assertArrayEquals(Arrays.copyOfRange(whole, from, to), flat, "contiguous slice of rank " + r);
                            for (int i : flat) union.add(i);
                        }
                        assertArrayEquals(whole, union.stream().mapToInt(Integer::intValue).toArray());
                    }
                }
            }
        }
        Sampler last = new Sampler(Sampler.all(7), 3, 2, 1); // steps of 6 and 1 example
        assertEquals(0, last.shard(1, 0, 2).length, "fewer examples than ranks: an empty shard");
        assertEquals(1, last.shard(1, 1, 2).length);
        assertThrows(IllegalArgumentException.class, () -> last.shard(0, 2, 2));
    }

    @Test
    void rangesAreWholeUnitsCoveringEverything() {
        for (int n : new int[]{0, 1, 5, 64, 65, 200}) {
            for (int unit : new int[]{1, 7, 64}) {
                for (int world = 1; world <= 4; world++) {
                    int at = 0;
                    for (int r = 0; r < world; r++) {
                        int[] part = DataParallel.range(n, unit, r, world);
                        assertEquals(at, part[0]);
                        assertTrue(part[0] % unit == 0 || part[0] == n, "starts on a unit");
                        at = part[1];
                    }
                    assertEquals(n, at);
                }
            }
        }
        assertArrayEquals(new int[]{0, 200}, DataParallel.single().range(200, 64));
    }

    @Test
    void diagnosticsAreWeightedMeansAndNormsAreCombinedAsNorms() {
        Map<String, Object> m = DataParallel.mergeDiagnostics(List.of(
                JsonParser.parseString("{\"weight\": 3, \"values\": {\"entropy_strong\": 1.0, \"grad_norm_strong_logits\": 3.0}}").getAsJsonObject(),
                JsonParser.parseString("{\"weight\": 1, \"values\": {\"entropy_strong\": 5.0, \"grad_norm_strong_logits\": 4.0}}").getAsJsonObject(),
                JsonParser.parseString("{\"weight\": 0, \"values\": {}}").getAsJsonObject())); // a rank without data
        assertEquals(2.0, (double) m.get("entropy_strong"), 1e-12, "(3·1 + 1·5) / 4");
        assertEquals(5.0, (double) m.get("grad_norm_strong_logits"), 1e-12, "sqrt(3² + 4²)");
        assertEquals(List.of("entropy_strong", "grad_norm_strong_logits"), List.copyOf(m.keySet()));
    }

    @Test
    void oneProcessIsTheIdentity() {
        DataParallel one = DataParallel.single();
        assertFalse(one.distributed());
        assertTrue(one.isRoot());
        assertArrayEquals(new long[]{4, 9}, one.sum(4, 9));
        assertArrayEquals(new double[]{1, 2}, one.gather(new double[]{1, 2}));
        assertArrayEquals(new int[]{3, 1}, one.fromRoot(new int[]{3, 1}));
        Map<String, Object> d = Map.of("x", 1.0);
        DataParallel.StepTotals t = one.finishStep(0.5, true, d, 3);
        assertEquals(0.5, t.loss());
        assertTrue(t.stop());
        assertSame(d, t.diagnostics());
        one.barrier();
        try (DataParallel.Gradients g = one.gradients(List.of())) {
            g.prepare();
            assertEquals(0, g.sync());
        }
    }

    @Test
    void aSliceIsItsExamplesCollatedAlike() {
        Collator all = new Collator(ArithmeticTasks.generate(10, 1, 3), new ByteTokenizer(), 160);
        Collator part = all.slice(4, 9);
        assertEquals(5, part.size());
        assertArrayEquals(all.collate(new int[]{5, 6}).ids(), part.collate(new int[]{1, 2}).ids());
        assertArrayEquals(all.collate(new int[]{8}).labels(), part.collate(new int[]{4}).labels());
        assertEquals(0, all.slice(3, 3).size());
        var b = all.collate(new int[]{2});
        var none = DataParallel.withoutTargets(b);
        assertTrue(b.supervised() > 0);
        assertEquals(0, none.supervised(), "a rank without data trains on a batch without targets");
        assertArrayEquals(b.ids(), none.ids());
        assertThrows(IndexOutOfBoundsException.class, () -> all.slice(5, 11));
    }
}
