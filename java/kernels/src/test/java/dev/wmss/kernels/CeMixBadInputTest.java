package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.LabelOutOfRangeException;
import dev.wmss.kernels.error.NativeLibraryException;
import dev.wmss.kernels.error.ShapeMismatchException;
import dev.wmss.kernels.error.Status;
import dev.wmss.kernels.error.WmssException;
import dev.wmss.kernels.ffi.WmssDevH;
import dev.wmss.kernels.ffi.WmssH;
import dev.wmss.kernels.ffi.wmss_ce_mix_args;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.*;

/** Bad input gets a typed exception carrying the native message, outputs stay untouched, and nothing crashes. */
public class CeMixBadInputTest {
    private static final MemorySegment NULL = MemorySegment.NULL;

    /** A native descriptor filled by hand (bypassing the Java checks), in the problem's arena. */
    private static MemorySegment descriptor(Problem p, int dtype, MemorySegment zs, long ldS, MemorySegment zw,
                                            MemorySegment labels, long vocab, float lambda, float invNorm,
                                            MemorySegment loss, MemorySegment gs, int flags) {
        MemorySegment a = p.arena.allocate(wmss_ce_mix_args.LAYOUT);
        wmss_ce_mix_args.size(a, wmss_ce_mix_args.LAYOUT.byteSize());
        wmss_ce_mix_args.dtype(a, dtype);
        wmss_ce_mix_args.flags(a, flags);
        wmss_ce_mix_args.rows(a, p.rows);
        wmss_ce_mix_args.vocab(a, vocab);
        wmss_ce_mix_args.z_strong(a, zs);
        wmss_ce_mix_args.ld_strong(a, ldS);
        wmss_ce_mix_args.z_weak(a, zw);
        wmss_ce_mix_args.ld_weak(a, p.ld);
        wmss_ce_mix_args.labels(a, labels);
        wmss_ce_mix_args.lambda(a, lambda);
        wmss_ce_mix_args.inv_norm(a, invNorm);
        wmss_ce_mix_args.loss(a, loss);
        wmss_ce_mix_args.grad_strong(a, gs);
        wmss_ce_mix_args.ld_grad_strong(a, p.ld);
        wmss_ce_mix_args.grad_weak(a, NULL);
        wmss_ce_mix_args.lse(a, NULL);
        wmss_ce_mix_args.entropy(a, NULL);
        return a;
    }

    /** Calls wmss_ce_mix directly and converts the status like the API does. */
    private static void raw(Problem p, MemorySegment zs, long ldS, MemorySegment zw, MemorySegment labels, long vocab,
                            float lambda, float invNorm, MemorySegment loss, MemorySegment gs) {
        MemorySegment a = descriptor(p, p.dtype.code(), zs, ldS, zw, labels, vocab, lambda, invNorm, loss, gs, 0);
        Status.check(WmssH.wmss_ce_mix(a), Backend::lastError);
    }

    private static void assertUntouched(Problem p) {
        assertTrue(Float.isNaN(p.rowLoss.getAtIndex(ValueLayout.JAVA_FLOAT, 0)), "loss written on a failed call");
        assertTrue(Float.isNaN(p.gradStrong.get(0, 0)), "gradient written on a failed call");
    }

    @Test
    public void labelOutOfRange() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 4, 50, 0, 0.5f, 1, 1);
            for (long bad : new long[]{50, 1000, -1, -101, Long.MIN_VALUE}) {
                p.labels.setAtIndex(ValueLayout.JAVA_LONG, 2, bad);
                p.poison();
                LabelOutOfRangeException e = assertThrows(LabelOutOfRangeException.class, () -> p.call().run());
                assertTrue(e.getMessage().contains("labels[2] = " + bad), e.getMessage());
                assertEquals(Status.LABEL, e.status());
                assertUntouched(p);
                for (CeMixBackend b : CeMixTest.present("cpu-unfused", "java", "libtorch"))
                    assertThrows(LabelOutOfRangeException.class, () -> p.call().run(b), b.name());
            }
        }
    }

    @Test
    void wrongSizesAreShapeMismatches() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 4, 50, 0, 0.5f, 1, 1);
            MemorySegment small = arena.allocate(4 * 50 * 4 - 4);
            assertThrows(ShapeMismatchException.class, () -> Logits.of(small, DType.F32, 4, 50));
            assertThrows(ShapeMismatchException.class, () -> Logits.of(p.strong.data(), DType.F32, 4, 50, 49));
            Logits other = Logits.allocate(arena, DType.F32, 4, 51);
            assertThrows(ShapeMismatchException.class, () -> CeMix.of(p.strong, other, p.labels));
            Logits bf = Logits.allocate(arena, DType.BF16, 4, 50);
            assertThrows(ShapeMismatchException.class, () -> CeMix.of(p.strong, bf, p.labels));
            assertThrows(ShapeMismatchException.class, () -> CeMix.of(p.strong, p.weak, arena.allocate(31)));
            assertThrows(ShapeMismatchException.class, () -> CeMix.of(p.strong, p.weak, p.labels).gradWeak(other));
            assertThrows(ShapeMismatchException.class, () -> CeMix.of(p.strong, p.weak, p.labels).rowLoss(arena.allocate(15)));
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
            int st = WmssH.wmss_ce_mix(descriptor(p, 7, zs, 50, zw, p.labels, 50, 0.5f, 1, p.rowLoss, gs, 0));
            assertEquals(Status.DTYPE, Status.of(st));
            st = WmssH.wmss_ce_mix(descriptor(p, 0, zs, 50, zw, p.labels, 50, 0.5f, 1, p.rowLoss, gs, 8));
            assertEquals(Status.ARGUMENT, Status.of(st));
            assertEquals(Status.NULL_POINTER, Status.of(WmssH.wmss_ce_mix(NULL)));
            assertUntouched(p);
            // through the API: lambda out of range, heap segments
            assertThrows(InvalidArgumentException.class, () -> p.call().lambda(-0.1f).run());
            Logits heap = Logits.of(MemorySegment.ofArray(new float[200]), DType.F32, 4, 50);
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> CeMix.of(heap, heap, p.labels).run());
            assertTrue(e.getMessage().contains("heap segment"), e.getMessage());
            assertThrows(InvalidArgumentException.class, () -> CeMix.of(p.strong, null, p.labels));
        }
    }

    @Test
    void aDescriptorOfAnotherVersionIsRejectedByEveryEntryPoint() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 4, 50, 0, 0.5f, 1, 1);
            MemorySegment a = descriptor(p, 0, p.strong.data(), 50, p.weak.data(), p.labels, 50, 0.5f, 1, p.rowLoss,
                    p.gradStrong.data(), 0);
            wmss_ce_mix_args.size(a, wmss_ce_mix_args.LAYOUT.byteSize() - 8); // e.g. built against ABI 1's header
            MemorySegment ws = arena.allocate(2 * 4 * 50 * 4);
            int[] codes = {WmssH.wmss_ce_mix(a), WmssH.wmss_ce_mix_unfused(a, ws, 400),
                    WmssDevH.wmss_cuda_host_ce_mix(a, 0, 0, 0)}; // and libtorch's: wmss-runtime's CeMixTorchTest
            for (int st : codes) assertEquals(Status.VERSION, Status.of(st));
            WmssException e = assertThrows(NativeLibraryException.class, () -> Status.check(WmssH.wmss_ce_mix(a),
                    Backend::lastError));
            assertTrue(e.getMessage().contains("size is 128") && e.getMessage().contains("expects 136"), e.getMessage());
            assertUntouched(p);
        }
    }

    @Test
    void readOnlyOutputsAreRejectedBeforeAnythingIsWritten() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 4, 50, 0, 0.5f, 1, 1);
            Logits.Host ro = Logits.of(p.gradStrong.data().asReadOnly(), DType.F32, 4, 50);
            assertStatus(Status.ARGUMENT, () -> CeMix.of(p.strong, p.weak, p.labels).gradStrong(ro).run());
            assertStatus(Status.ARGUMENT, () -> CeMix.of(ro, p.weak, p.labels).inPlace().run());
            assertStatus(Status.ARGUMENT, () -> CeMix.of(p.strong, p.weak, p.labels).rowLoss(p.rowLoss.asReadOnly()).run());
            assertStatus(Status.ARGUMENT, () -> Entropy.of(p.strong, p.entropy.asReadOnly()).run());
            assertUntouched(p);
            // heap memory is for the Java reference only: the native entropy refuses it (no crash)
            Logits.Host heap = Logits.of(MemorySegment.ofArray(new float[200]), DType.F32, 4, 50);
            assertStatus(Status.ARGUMENT, () -> Entropy.of(heap, p.entropy).run());
        }
    }

    @Test
    void hostMemoryIsNotAcceptedAsDeviceLogits() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment host = arena.allocate(4 * 10 * 4);
            assertEquals(DeviceMemory.Kind.HOST, DeviceMemory.kindOf(host));
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> Logits.onDevice(host, DType.F32, 4, 10, 10));
            assertTrue(e.getMessage().contains("is not CUDA memory"), e.getMessage());
            Logits.Host h = Logits.of(host, DType.F32, 4, 10);
            assertThrows(InvalidArgumentException.class, () -> KernelBackends.ceMix("cuda-fused").run(
                    CeMix.of(h, h, arena.allocate(32)).invNorm(1f).build()), "a CUDA backend refuses host logits");
        }
    }

    @Test
    void closedArenaIsRejectedByTheJvmNotACrash() {
        Problem p;
        try (Arena arena = Arena.ofConfined()) {
            p = new Problem(arena, DType.F32, 2, 10, 0, 0.5f, 1, 1);
        }
        assertThrows(IllegalStateException.class, () -> p.call().run());
    }

    @Test
    void errorsAreThreadLocalAndClearMessagesSurvive() throws Exception {
        try (Arena arena = Arena.ofShared()) {
            Problem p = new Problem(arena, DType.F32, 2, 10, 0, 0.5f, 1, 1);
            p.labels.setAtIndex(ValueLayout.JAVA_LONG, 0, 99);
            assertThrows(LabelOutOfRangeException.class, () -> p.call().run());
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

    /**
     * The memory rules hold for every backend, the Java reference included (an audit found it accepting an output
     * over an input, two outputs on one buffer and misaligned buffers, and computing wrong results): checked when
     * the arguments are built, as the native entry points check them for C callers.
     */
    @Test
    void everyBackendRefusesOverlapsAndMisalignment() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(11 * 4, 64);
            Logits.Host s = Logits.of(m, DType.F32, 2, 5), w = Logits.allocate(arena, DType.F32, 2, 5);
            Logits.Host g = Logits.allocate(arena, DType.F32, 2, 5);
            MemorySegment y = arena.allocate(16, 8);
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> CeMix.of(s, w, y).gradStrong(Logits.of(m.asSlice(4), DType.F32, 2, 5)).build());
            assertEquals(Status.ALIAS, e.status());
            assertTrue(e.getMessage().contains("gradStrong overlaps strong"), e.getMessage());
            e = assertThrows(InvalidArgumentException.class,
                    () -> CeMix.of(s, w, y).lambda(0.9f).gradStrong(g).gradWeak(g).build());
            assertTrue(e.getMessage().contains("outputs gradStrong and gradWeak overlap"), e.getMessage());
            e = assertThrows(InvalidArgumentException.class, () -> CeMix.of(s, w, y).lse(m.asSlice(8, 8)).build());
            assertEquals(Status.ALIAS, e.status());
            MemorySegment yy = arena.allocate(24, 8);
            e = assertThrows(InvalidArgumentException.class, () -> CeMix.of(s, w, yy.asSlice(4, 16)).build());
            assertEquals(Status.ALIGNMENT, e.status());
            e = assertThrows(InvalidArgumentException.class,
                    () -> CeMix.of(Logits.of(m.asSlice(2), DType.F32, 2, 5), w, y).build());
            assertEquals(Status.ALIGNMENT, e.status());
            // allowed: in place with the same stride, and an input lambda leaves unread under an output
            CeMix.of(s, w, y).gradStrong(s).build();
            CeMix.of(s, w, y).lambda(0f).gradWeak(g).rowLoss(m.asSlice(0, 8)).build();
            // the entropy op: an output over its logits
            e = assertThrows(InvalidArgumentException.class, () -> Entropy.of(s, m.asSlice(8, 8)).build());
            assertEquals(Status.ALIAS, e.status());
            for (CeMixBackend b : CeMixTest.present("java", "cpu-fused", "cpu-unfused"))
                assertThrows(InvalidArgumentException.class, () -> CeMix.of(s, w, y).gradStrong(g).gradWeak(g).lambda(0.9f).run(b), b.name());
        }
    }

    @Test
    void shapesBeyondALongAreShapeMismatches() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate(64, 64);
            assertThrows(ShapeMismatchException.class, () -> Logits.of(seg, DType.F32, Long.MAX_VALUE / 2, 4));
            assertThrows(ShapeMismatchException.class, () -> Logits.allocate(arena, DType.F32, 1L << 62, 4));
            assertThrows(ShapeMismatchException.class, () -> Logits.allocate(arena, DType.F32, -1, 4));
        }
    }
}
