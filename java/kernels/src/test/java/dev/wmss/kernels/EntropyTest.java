package dev.wmss.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.*;

/** The entropy kernel (WD-DS) against the float64 reference: ce_mix with lambda = 1 in plain Java. */
class EntropyTest {
    @ParameterizedTest(name = "{0} rows={1} vocab={2}")
    @CsvSource({"F32, 9, 1", "F32, 13, 7", "F32, 21, 1000", "F32, 3, 151936", "BF16, 13, 7", "BF16, 5, 32003"})
    void matchesReference(DType dtype, int rows, int vocab) {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, dtype, rows, vocab, 1, 1f, 3.0, vocab);
            CeMix.of(p.strong, p.strong, p.labels).lambda(1f).rowLoss(p.rowLoss).lse(p.lse)
                    .entropy(p.entropy).run(CeMixBackend.JAVA);
            float[] refH = p.entropy.toArray(ValueLayout.JAVA_FLOAT), refNll = p.rowLoss.toArray(ValueLayout.JAVA_FLOAT);
            float[] refLse = p.lse.toArray(ValueLayout.JAVA_FLOAT);
            p.poison();
            Entropy.compute(p.strong, p.labels, p.entropy, p.rowLoss, p.lse, false);
            p.assertRows("entropy", refH, p.entropy.toArray(ValueLayout.JAVA_FLOAT), rows);
            p.assertRows("nll", refNll, p.rowLoss.toArray(ValueLayout.JAVA_FLOAT), rows);
            p.assertRows("lse", refLse, p.lse.toArray(ValueLayout.JAVA_FLOAT), rows);
            p.poison();
            Entropy.compute(p.strong, null, p.entropy, null, null, false);
            p.assertRows("entropy without labels", refH, p.entropy.toArray(ValueLayout.JAVA_FLOAT), rows);
        }
    }

    @Test
    void uniformAndOneHotDistributions() {
        try (Arena arena = Arena.ofConfined()) {
            int vocab = 1003;
            Logits.Host z = Logits.allocate(arena, DType.F32, 2, vocab);
            for (int v = 0; v < vocab; v++) z.set(1, v, v == 5 ? 0f : Float.NEGATIVE_INFINITY);
            MemorySegment labels = arena.allocate(16);
            labels.setAtIndex(ValueLayout.JAVA_LONG, 0, 3);
            labels.setAtIndex(ValueLayout.JAVA_LONG, 1, 5);
            MemorySegment h = arena.allocate(8), nll = arena.allocate(8);
            Entropy.compute(z, labels, h, nll, null, false);
            assertEquals(Math.log(vocab), h.getAtIndex(ValueLayout.JAVA_FLOAT, 0), 1e-5);
            assertEquals(Math.log(vocab), nll.getAtIndex(ValueLayout.JAVA_FLOAT, 0), 1e-5);
            assertEquals(0f, h.getAtIndex(ValueLayout.JAVA_FLOAT, 1), 0f);
            assertEquals(0f, nll.getAtIndex(ValueLayout.JAVA_FLOAT, 1), 0f);
            assertEquals(Math.log(vocab) / 2, Entropy.meanOverLabelled(z, labels), 1e-5);
            labels.setAtIndex(ValueLayout.JAVA_LONG, 1, CeMix.IGNORE_INDEX);
            assertEquals(Math.log(vocab), Entropy.meanOverLabelled(z, labels), 1e-5, "ignored rows do not count");
        }
    }

    @Test
    void labelsAndNllGoTogether() {
        try (Arena arena = Arena.ofConfined()) {
            Logits.Host z = Logits.allocate(arena, DType.F32, 2, 4);
            MemorySegment h = arena.allocate(8);
            assertThrows(InvalidArgumentException.class, () -> Entropy.compute(z, arena.allocate(16), h, null, null, false));
        }
    }
}
