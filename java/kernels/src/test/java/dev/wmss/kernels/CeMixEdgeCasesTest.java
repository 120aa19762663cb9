package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.NonFiniteException;
import dev.wmss.kernels.error.Status;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Extreme logits, -inf entries, NaN policy, all-ignored batches, in-place, empty batches, stride padding: each case
 * on every CPU ISA this machine has (the whole class runs once per ISA; the fused kernel and the unfused baseline
 * are built per ISA, and an edge case checked on the automatic choice alone lets another ISA's build lose it).
 */
@ParameterizedClass(name = "isa {0}")
@ValueSource(strings = {"avx512bf16", "avx512", "avx2", "sse2"})
public class CeMixEdgeCasesTest {
    @Parameter
    String isa;

    @BeforeEach
    void selectIsa() {
        CpuIsa.select(isa);
    }

    @AfterAll
    static void restoreIsa() {
        Backend.setCpuIsa("auto");
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void extremeLogitsMatchReference(DType dtype) {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, dtype, 11, 1003, 0, 0.5f, 1.0, 7);
            for (int r = 0; r < p.rows; r++) {
                p.strong.set(r, (r * 37) % p.vocab, 1e4f);
                p.weak.set(r, (r * 53) % p.vocab, -1e4f);
                p.strong.set(r, (r * 11 + 5) % p.vocab, 9000f);
            }
            p.maxAbs = 1e4;
            Problem.Outputs ref = p.run(KernelBackends.ceMix("java"));
            for (CeMixBackend b : List.of(KernelBackends.ceMix("cpu-fused"), CeMixTestBackends.inPlace(KernelBackends.ceMix("cpu-fused")),
                    KernelBackends.ceMix("cpu-unfused"))) {
                p.assertClose(isa + " " + b.name(), ref, p.run(b));
            }
            for (float l : ref.rowLoss()) assertTrue(Float.isFinite(l));
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void negativeInfinityEntriesAreExactZeros(DType dtype) {
        for (float lambda : new float[]{0f, 0.5f, 1f}) {
            try (Arena arena = Arena.ofConfined()) {
                Problem p = new Problem(arena, dtype, 6, 517, 3, lambda, 2.0, 11);
                for (int r = 0; r < p.rows; r++) {
                    for (int v = 0; v < p.vocab; v += 3) {
                        if (v == p.label(r)) continue;
                        // -inf in the strong logits only: for lambda = 0 they must not matter at all (0 * -inf)
                        p.strong.set(r, v, Float.NEGATIVE_INFINITY);
                    }
                }
                Problem.Outputs ref = p.run(KernelBackends.ceMix("java"));
                p.assertClose(isa + " unfused lambda " + lambda, ref, p.run(KernelBackends.ceMix("cpu-unfused")));
                p.assertClose(isa + " in place lambda " + lambda, ref,
                        p.run(CeMixTestBackends.inPlace(KernelBackends.ceMix("cpu-fused"))));
                Problem.Outputs got = p.run(KernelBackends.ceMix("cpu-fused"));
                p.assertClose(isa + " lambda " + lambda, ref, got);
                for (int r = 0; r < p.rows; r++) {
                    assertTrue(Float.isFinite(got.rowLoss()[r]), "row " + r);
                    if (lambda > 0 && p.label(r) != 0) assertEquals(0f, got.gs()[r * p.vocab], "p = 0 exactly");
                }
            }
        }
    }

    @Test
    public void nanLogitsRaiseNonFiniteUnlessAllowed() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 4, 100, 0, 0.5f, 1.0, 3);
            p.weak.set(2, 17, Float.NaN);
            for (CeMixBackend v : CeMixTest.present("cpu-fused", "cpu-unfused", "java", "libtorch")) {
                p.poison();
                NonFiniteException e = assertThrows(NonFiniteException.class, () -> p.call().run(v), v.name());
                assertTrue(e.getMessage().contains("row 2"), e.getMessage());
                assertEquals(Status.NONFINITE, e.status());
                p.poison();
                double loss = p.call().allowNonFinite(true).run(v);
                assertTrue(Double.isNaN(loss), v.name());
                float[] rows = p.rowLoss.toArray(ValueLayout.JAVA_FLOAT);
                assertTrue(Float.isNaN(rows[2]) && Float.isFinite(rows[0]) && Float.isFinite(rows[1]), v.name());
                assertTrue(Float.isFinite(p.gradStrong.get(1, 5)), "other rows are computed");
            }
        }
    }

    @Test
    void labelLogitOfMinusInfinityGivesInfiniteLossAndFiniteGradient() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 2, 64, 0, 1f, 1.0, 5);
            p.strong.set(0, p.label(0), Float.NEGATIVE_INFINITY);
            assertThrows(NonFiniteException.class, () -> p.call().run());
            p.poison();
            p.call().allowNonFinite(true).run();
            assertEquals(Float.POSITIVE_INFINITY, p.rowLoss.getAtIndex(ValueLayout.JAVA_FLOAT, 0));
            assertEquals(-p.invNorm, p.gradStrong.get(0, p.label(0)), 1e-7f);
        }
    }

    static List<CeMixBackend> hostBackends() {
        return List.of(KernelBackends.ceMix("cpu-fused"), KernelBackends.ceMix("cpu-unfused"), KernelBackends.ceMix("java"));
    }

    @ParameterizedTest
    @MethodSource("hostBackends")
    void allIgnoredRowsGiveZeroLossAndZeroGradients(CeMixBackend variant) {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 5, 333, 1, 0.5f, 1.0, 9);
            for (int r = 0; r < p.rows; r++) p.labels.setAtIndex(ValueLayout.JAVA_LONG, r, CeMix.IGNORE_INDEX);
            p.poison();
            double loss = p.call().run(variant);
            assertEquals(0.0, loss);
            for (int r = 0; r < p.rows; r++) {
                assertEquals(0f, p.rowLoss.getAtIndex(ValueLayout.JAVA_FLOAT, r));
                for (int v = 0; v < p.vocab; v++) {
                    assertEquals(0f, p.gradStrong.get(r, v));
                    assertEquals(0f, p.gradWeak.get(r, v));
                }
                assertTrue(Float.isFinite(p.entropy.getAtIndex(ValueLayout.JAVA_FLOAT, r)), "stats of ignored rows");
            }
        }
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void inPlaceEqualsOutOfPlaceAndLeavesStridePaddingAlone(DType dtype) {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, dtype, 7, 1001, 5, 0.5f, 2.0, 13);
            Problem.Outputs out = p.run(KernelBackends.ceMix("cpu-fused"));
            for (int r = 0; r < p.rows; r++) {
                for (int v = p.vocab; v < p.ld && r < p.rows - 1; v++) {
                    assertTrue(Float.isNaN(p.gradStrong.get(r, v)), "padding keeps its poison");
                }
            }
            double loss = CeMix.of(p.strong, p.weak, p.labels).lambda(p.lambda).invNorm(p.invNorm)
                    .inPlace().run();
            assertEquals(out.loss(), loss, 0.0);
            for (int r = 0; r < p.rows; r++) {
                for (int v = 0; v < p.vocab; v++) {
                    assertEquals(out.gs()[r * p.vocab + v], p.strong.get(r, v), "strong [" + r + ", " + v + "]");
                    assertEquals(out.gw()[r * p.vocab + v], p.weak.get(r, v), "weak [" + r + ", " + v + "]");
                }
            }
        }
    }

    @Test
    void emptyBatchIsANoOpAndForwardOnlyWritesNoGradient() {
        try (Arena arena = Arena.ofConfined()) {
            Logits empty = Logits.allocate(arena, DType.F32, 0, 10);
            assertEquals(0.0, CeMix.of(empty, empty, arena.allocate(8)).inPlace().run());
            Problem p = new Problem(arena, DType.F32, 3, 50, 0, 0.5f, 1.0, 1);
            p.poison();
            double withGrad = p.call().run();
            p.poison();
            double forwardOnly = CeMix.of(p.strong, p.weak, p.labels).invNorm(p.invNorm).run();
            assertEquals(withGrad, forwardOnly, 0.0);
            assertTrue(Float.isNaN(p.gradStrong.get(0, 0)), "no gradient buffer was touched");
        }
    }

    @Test
    void singleModelSftRunsInPlaceWithLambdaOne() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 5, 301, 0, 1f, 2.0, 8);
            Problem.Outputs ref = p.run(KernelBackends.ceMix("java")); // gradStrong out of place
            // the same logits as both inputs: with lambda = 1 the weak side is never read, so in place is allowed
            double loss = CeMix.of(p.strong, p.strong, p.labels).lambda(1f).invNorm(p.invNorm)
                    .gradStrong(p.strong).run();
            assertEquals(ref.loss(), loss, 1e-5 * Math.abs(ref.loss()));
            for (int r = 0; r < p.rows; r++)
                for (int v = 0; v < p.vocab; v++)
                    assertEquals(ref.gs()[r * p.vocab + v], p.strong.get(r, v), p.gradTol(ref.gs()[r * p.vocab + v]));
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> CeMix.of(p.strong, p.strong, p.labels).lambda(0.5f).gradStrong(p.strong).run());
            assertEquals(Status.ALIAS, e.status());
        }
    }

    @Test
    void aCallCanRunRepeatedly() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 6, 77, 0, 0.5f, 1.0, 4);
            CeMixArgs call = CeMix.of(p.strong, p.weak, p.labels).gradStrong(p.gradStrong).build();
            double first = CeMix.run(call);
            assertEquals(first, CeMix.run(call), 0.0);
            assertEquals(first, KernelBackends.ceMix("cpu-unfused").run(call), 1e-6 * Math.abs(first));
        }
    }

    @Test
    void defaultInvNormIsOneOverSupervisedRows() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 10, 20, 0, 0.5f, 1.0, 2);
            MemorySegment rows = arena.allocate(40);
            double loss = CeMix.of(p.strong, p.weak, p.labels).rowLoss(rows).run();
            double sum = 0;
            for (int r = 0; r < 10; r++) sum += rows.getAtIndex(ValueLayout.JAVA_FLOAT, r);
            assertEquals(sum / 8, loss, 1e-9, "rows 3 and 8 are ignored");
        }
    }

    /** [rows, vocab] F32 logits whose entry v of every row is hi where pick(v), else lo. */
    private static Logits.Host twoLevel(Arena arena, int rows, int vocab, float hi, float lo, java.util.function.IntPredicate pick) {
        Logits.Host z = Logits.allocate(arena, DType.F32, rows, vocab);
        for (int r = 0; r < rows; r++) for (int v = 0; v < vocab; v++) z.set(r, v, pick.test(v) ? hi : lo);
        return z;
    }

    private static MemorySegment labels(Arena arena, long... y) {
        MemorySegment s = arena.allocate(8L * y.length, 8);
        for (int i = 0; i < y.length; i++) s.setAtIndex(ValueLayout.JAVA_LONG, i, y[i]);
        return s;
    }

    /**
     * An audit's cases at logits near float's range, on every host backend: a loss beyond float's range is reported
     * (the Java reference returned +inf without a word); the unfused baseline subtracts the max before the
     * log-sum (x - (max + log s) lost every digit: entropy 0 for ln 4, gradients 4x off); a row of -inf has lse
     * NaN everywhere (the unfused baseline wrote -inf).
     */
    @Test
    void logitsNearFloatsRangeAgreeAcrossBackends() {
        try (Arena arena = Arena.ofConfined()) {
            List<CeMixBackend> backends = CeMixTest.present("cpu-fused", "cpu-unfused", "java");
            Logits.Host s = twoLevel(arena, 4, 7, 3e38f, -3e38f, v -> v % 2 == 0);
            Logits.Host w = twoLevel(arena, 4, 7, 3e38f, -3e38f, v -> v % 3 == 0);
            MemorySegment y = labels(arena, 1, 6, 2, 3);
            for (CeMixBackend b : backends)
                assertThrows(NonFiniteException.class, () -> CeMix.of(s, w, y).run(b), b.name() + ": loss 6e38");

            // lambda = 1, four entries at 3e38 (one the label): p = 1/4 each, loss = entropy = ln 4
            MemorySegment y0 = labels(arena, 0, 2, 4, 6);
            Logits.Host g = Logits.allocate(arena, DType.F32, 4, 7);
            MemorySegment loss = arena.allocate(16, 8), h = arena.allocate(16, 8);
            for (CeMixBackend b : backends) {
                g.fill(Float.NaN);
                CeMix.of(s, s, y0).lambda(1f).invNorm(1f).gradStrong(g).rowLoss(loss).entropy(h).run(b);
                for (int r = 0; r < 4; r++) {
                    assertEquals(Math.log(4), loss.getAtIndex(ValueLayout.JAVA_FLOAT, r), 1e-5, b.name() + " loss");
                    assertEquals(Math.log(4), h.getAtIndex(ValueLayout.JAVA_FLOAT, r), 1e-5, b.name() + " entropy");
                    for (int v = 0; v < 7; v++) {
                        double want = (v % 2 == 0 ? 0.25 : 0) - (v == 2 * r ? 1 : 0);
                        assertEquals(want, g.get(r, v), 1e-6, b.name() + " gradient [" + r + ", " + v + "]");
                    }
                }
            }

            // a row of -inf (ignored, statistics wanted): lse and entropy NaN, loss 0, reported
            Logits.Host ninf = twoLevel(arena, 1, 7, 0f, Float.NEGATIVE_INFINITY, v -> false);
            MemorySegment ign = labels(arena, CeMix.IGNORE_INDEX), lse = arena.allocate(4, 4);
            for (CeMixBackend b : backends) {
                assertThrows(NonFiniteException.class, () -> CeMix.of(ninf, ninf, ign).lse(lse).run(b), b.name());
                lse.fill((byte) 0);
                CeMix.of(ninf, ninf, ign).lse(lse).allowNonFinite(true).run(b);
                assertTrue(Float.isNaN(lse.getAtIndex(ValueLayout.JAVA_FLOAT, 0)),
                        b.name() + " lse " + lse.getAtIndex(ValueLayout.JAVA_FLOAT, 0));
            }
        }
    }

    /**
     * A NaN with a low payload (0x7F800001) in a labelled row: every gradient of the row is NaN, as the fused kernel
     * writes it (the unfused baseline's vector exp turned that NaN into -7e-40 on AVX2 and SSE2).
     */
    @Test
    void aLowPayloadNaNGivesANaNRow() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 3, 37, 0, 0.5f, 1.0, 12);
            p.labels.setAtIndex(ValueLayout.JAVA_LONG, 1, 5);
            p.strong.set(1, 20, Float.intBitsToFloat(0x7F800001));
            for (CeMixBackend b : CeMixTest.present("cpu-fused", "cpu-unfused")) {
                p.poison();
                p.call().allowNonFinite(true).run(b);
                for (int v = 0; v < p.vocab; v++) {
                    assertTrue(Float.isNaN(p.gradStrong.get(1, v)), isa + " " + b.name() + " column " + v);
                    assertTrue(Float.isNaN(p.gradWeak.get(1, v)), isa + " " + b.name() + " column " + v);
                }
            }
        }
    }
}
