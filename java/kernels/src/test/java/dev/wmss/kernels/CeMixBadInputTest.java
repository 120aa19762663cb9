package dev.wmss.kernels;

import dev.wmss.kernels.ffi.WmssH;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.*;

/** Bad input gets a typed exception carrying the native message, outputs stay untouched, and nothing crashes. */
class CeMixBadInputTest {
    private static final MemorySegment NULL = MemorySegment.NULL;

    /** Calls wmss_ce_mix directly (bypassing the Java checks) and converts the status like the API does. */
    private static void raw(Problem p, MemorySegment zs, long ldS, MemorySegment zw, MemorySegment labels, long vocab,
                            float lambda, float invNorm, MemorySegment loss, MemorySegment gs) {
        int st = WmssH.wmss_ce_mix(p.dtype.code(), p.rows, vocab, zs, ldS, zw, p.ld, labels, lambda, invNorm, loss,
                gs, p.ld, NULL, 0, NULL, NULL, 0);
        Status.check(st, Backend::lastError);
    }

    private static void assertUntouched(Problem p) {
        assertTrue(Float.isNaN(p.rowLoss.getAtIndex(ValueLayout.JAVA_FLOAT, 0)), "loss written on a failed call");
        assertTrue(Float.isNaN(p.gradStrong.get(0, 0)), "gradient written on a failed call");
    }

    @Test
    void labelOutOfRange() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 4, 50, 0, 0.5f, 1, 1);
            for (long bad : new long[]{50, 1000, -1, -101, Long.MIN_VALUE}) {
                p.labels.setAtIndex(ValueLayout.JAVA_LONG, 2, bad);
                p.poison();
                LabelOutOfRangeException e = assertThrows(LabelOutOfRangeException.class, () -> p.call(MixCrossEntropy.Variant.FUSED).run());
                assertTrue(e.getMessage().contains("labels[2] = " + bad), e.getMessage());
                assertEquals(Status.LABEL, e.status());
                assertUntouched(p);
                assertThrows(LabelOutOfRangeException.class, () -> p.call(MixCrossEntropy.Variant.UNFUSED).run());
                assertThrows(LabelOutOfRangeException.class, () -> p.call(MixCrossEntropy.Variant.JAVA).run());
            }
        }
    }

    @Test
    void wrongSizesAreShapeMismatches() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 4, 50, 0, 0.5f, 1, 1);
            MemorySegment small = arena.allocate(4 * 50 * 4 - 4);
            assertThrows(ShapeMismatchException.class, () -> Logits.of(small, DType.F32, 4, 50));
            assertThrows(ShapeMismatchException.class, () -> new Logits(p.strong.data(), DType.F32, 4, 50, 49));
            Logits other = Logits.allocate(arena, DType.F32, 4, 51);
            assertThrows(ShapeMismatchException.class, () -> MixCrossEntropy.of(p.strong, other, p.labels));
            Logits bf = Logits.allocate(arena, DType.BF16, 4, 50);
            assertThrows(ShapeMismatchException.class, () -> MixCrossEntropy.of(p.strong, bf, p.labels));
            assertThrows(ShapeMismatchException.class, () -> MixCrossEntropy.of(p.strong, p.weak, arena.allocate(31)));
            assertThrows(ShapeMismatchException.class, () -> MixCrossEntropy.of(p.strong, p.weak, p.labels).gradWeak(other));
            assertThrows(ShapeMismatchException.class, () -> MixCrossEntropy.of(p.strong, p.weak, p.labels).rowLoss(arena.allocate(15)));
            // native checks: stride below vocab, vocab 0, negative rows
            ShapeMismatchException e = assertThrows(ShapeMismatchException.class, () -> raw(p, p.strong.data(), 49,
                    p.weak.data(), p.labels, 50, 0.5f, 1, p.rowLoss, p.gradStrong.data()));
            assertTrue(e.getMessage().contains("row stride of z_strong"), e.getMessage());
            assertThrows(ShapeMismatchException.class, () -> raw(p, p.strong.data(), 50, p.weak.data(), p.labels, 0,
                    0.5f, 1, p.rowLoss, p.gradStrong.data()));
            assertUntouched(p);
        }
    }

    @Test
    void nullMisalignedAliasedAndBadScalarsAreInvalidArguments() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 4, 50, 0, 0.5f, 1, 1);
            MemorySegment zs = p.strong.data(), zw = p.weak.data(), gs = p.gradStrong.data();
            assertStatus(Status.NULL_POINTER, () -> raw(p, NULL, 50, zw, p.labels, 50, 0.5f, 1, p.rowLoss, gs));
            assertStatus(Status.NULL_POINTER, () -> raw(p, zs, 50, NULL, p.labels, 50, 0.5f, 1, p.rowLoss, gs));
            assertStatus(Status.NULL_POINTER, () -> raw(p, zs, 50, zw, NULL, 50, 0.5f, 1, p.rowLoss, gs));
            assertStatus(Status.NULL_POINTER, () -> raw(p, zs, 50, zw, p.labels, 50, 0.5f, 1, NULL, gs));
            assertStatus(Status.ALIGNMENT, () -> raw(p, zs.asSlice(1), 50, zw, p.labels, 50, 0.5f, 1, p.rowLoss, gs));
            assertStatus(Status.ALIGNMENT, () -> raw(p, zs, 50, zw, p.labels.asSlice(4), 50, 0.5f, 1, p.rowLoss, gs));
            assertStatus(Status.ALIAS, () -> raw(p, zs, 50, zw, p.labels, 50, 0.5f, 1, p.rowLoss, zs.asSlice(4)));
            assertStatus(Status.ALIAS, () -> raw(p, zs, 50, zw, p.labels, 50, 0.5f, 1, p.rowLoss, zw));
            assertStatus(Status.ALIAS, () -> raw(p, zs, 50, zw, p.labels, 50, 0.5f, 1, zs, gs));
            assertStatus(Status.ARGUMENT, () -> raw(p, zs, 50, zw, p.labels, 50, 1.5f, 1, p.rowLoss, gs));
            assertStatus(Status.ARGUMENT, () -> raw(p, zs, 50, zw, p.labels, 50, Float.NaN, 1, p.rowLoss, gs));
            assertStatus(Status.ARGUMENT, () -> raw(p, zs, 50, zw, p.labels, 50, 0.5f, Float.POSITIVE_INFINITY, p.rowLoss, gs));
            assertStatus(Status.ARGUMENT, () -> raw(p, zs, 50, zw, p.labels, 50, 0.5f, -1f, p.rowLoss, gs));
            int st = WmssH.wmss_ce_mix(7, 4, 50, zs, 50, zw, 50, p.labels, 0.5f, 1, p.rowLoss, gs, 50, NULL, 0, NULL, NULL, 0);
            assertEquals(Status.DTYPE, Status.of(st));
            st = WmssH.wmss_ce_mix(0, 4, 50, zs, 50, zw, 50, p.labels, 0.5f, 1, p.rowLoss, gs, 50, NULL, 0, NULL, NULL, 8);
            assertEquals(Status.ARGUMENT, Status.of(st));
            assertUntouched(p);
            // through the API: lambda out of range, heap segments
            assertThrows(InvalidArgumentException.class, () -> p.call(MixCrossEntropy.Variant.FUSED).lambda(-0.1f).run());
            Logits heap = Logits.of(MemorySegment.ofArray(new float[200]), DType.F32, 4, 50);
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> MixCrossEntropy.of(heap, heap, p.labels).run());
            assertTrue(e.getMessage().contains("heap segment"), e.getMessage());
            assertThrows(InvalidArgumentException.class, () -> MixCrossEntropy.of(p.strong, null, p.labels));
        }
    }

    @Test
    void closedArenaIsRejectedByTheJvmNotACrash() {
        Problem p;
        try (Arena arena = Arena.ofConfined()) {
            p = new Problem(arena, DType.F32, 2, 10, 0, 0.5f, 1, 1);
        }
        assertThrows(IllegalStateException.class, () -> p.call(MixCrossEntropy.Variant.FUSED).run());
    }

    @Test
    void errorsAreThreadLocalAndClearMessagesSurvive() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            Problem p = new Problem(arena, DType.F32, 2, 10, 0, 0.5f, 1, 1);
            p.labels.setAtIndex(ValueLayout.JAVA_LONG, 0, 99);
            assertThrows(LabelOutOfRangeException.class, () -> p.call(MixCrossEntropy.Variant.FUSED).run());
            String[] other = new String[1];
            Thread t = new Thread(() -> other[0] = Backend.lastError());
            t.start();
            t.join();
            assertEquals("", other[0], "another thread sees no error");
            assertTrue(Backend.lastError().contains("labels[0] = 99"));
        }
    }

    private static void assertStatus(Status expected, org.junit.jupiter.api.function.Executable call) {
        WmssException e = assertThrows(WmssException.class, call);
        assertEquals(expected, e.status(), e.getMessage());
        assertTrue(e instanceof InvalidArgumentException, e.getClass().getName());
        assertFalse(e.getMessage().isBlank());
    }
}
