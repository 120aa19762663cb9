package dev.wmss.kernels;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CUDA kernels on a real device against the CPU kernel and the float64 reference (skipped without a GPU:
 * the reason is the driver's). Device buffers are poisoned with NaN before every run.
 */
@Tag("cuda")
class CeMixCudaTest {
    @BeforeEach // per test, so that each shows as skipped (with the reason) where there is no GPU
    void needsADevice() {
        Backend b = Backend.current();
        assumeTrue(b.cudaUsable(), "no CUDA here: " + b.cudaStatus());
    }

    /** The problem's inputs on the device, its outputs copied back into the host buffers. */
    static Problem.Outputs runOnDevice(Problem p, MixCrossEntropy.Variant v, boolean inPlace) {
        long bytes = (long) p.rows * p.ld * p.dtype.bytes();
        try (DeviceMemory zs = DeviceMemory.copyOf(p.strong.data().asSlice(0, bytes));
             DeviceMemory zw = DeviceMemory.copyOf(p.weak.data().asSlice(0, bytes));
             DeviceMemory gs = DeviceMemory.allocate(bytes); DeviceMemory gw = DeviceMemory.allocate(bytes);
             DeviceMemory labels = DeviceMemory.copyOf(p.labels.asSlice(0, 8L * p.rows));
             DeviceMemory loss = DeviceMemory.allocate(4L * p.rows); DeviceMemory lse = DeviceMemory.allocate(4L * p.rows);
             DeviceMemory ent = DeviceMemory.allocate(4L * p.rows)) {
            for (DeviceMemory d : new DeviceMemory[]{gs, gw, loss, lse, ent}) d.fill(0xFF); // NaN
            Logits s = new Logits(zs.segment(), p.dtype, p.rows, p.vocab, p.ld);
            Logits w = new Logits(zw.segment(), p.dtype, p.rows, p.vocab, p.ld);
            MixCrossEntropy.Call call = MixCrossEntropy.of(s, w, labels.segment()).lambda(p.lambda).invNorm(p.invNorm)
                    .rowLoss(loss.segment()).lse(lse.segment()).entropy(ent.segment()).variant(v);
            if (inPlace) call.inPlace();
            else call.gradStrong(new Logits(gs.segment(), p.dtype, p.rows, p.vocab, p.ld))
                    .gradWeak(new Logits(gw.segment(), p.dtype, p.rows, p.vocab, p.ld));
            double total = call.run();
            (inPlace ? zs : gs).copyTo(p.gradStrong.data().asSlice(0, bytes));
            (inPlace ? zw : gw).copyTo(p.gradWeak.data().asSlice(0, bytes));
            loss.copyTo(p.rowLoss.asSlice(0, 4L * p.rows));
            lse.copyTo(p.lse.asSlice(0, 4L * p.rows));
            ent.copyTo(p.entropy.asSlice(0, 4L * p.rows));
            return p.snapshot(total);
        }
    }

    @ParameterizedTest(name = "{0} rows={1} vocab={2} lambda={3}")
    @CsvSource({"F32, 9, 1, 0.5", "F32, 13, 7, 0", "F32, 37, 1000, 0.5", "F32, 300, 1003, 1", "F32, 6, 32003, 0.5",
            "F32, 3, 151936, 0.5", "F32, 200, 128256, 0.5", "BF16, 13, 7, 0.5", "BF16, 37, 1000, 0.3",
            "BF16, 6, 32003, 0.5", "BF16, 3, 151936, 1", "BF16, 64, 128256, 0.5"})
    void fusedAndUnfusedMatchReferenceAndCpu(DType dtype, int rows, int vocab, float lambda) {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, dtype, rows, vocab, 0, lambda, 3.0, rows * 31L + vocab);
            Problem.Outputs ref = p.run(MixCrossEntropy.Variant.JAVA);
            Problem.Outputs cpu = p.run(MixCrossEntropy.Variant.FUSED);
            p.assertClose("cpu fused", ref, cpu);
            p.poison();
            p.assertClose("cuda fused", ref, runOnDevice(p, MixCrossEntropy.Variant.FUSED, false));
            p.poison();
            p.assertClose("cuda unfused", ref, runOnDevice(p, MixCrossEntropy.Variant.UNFUSED, false));
            p.poison();
            p.assertClose("cuda fused in place", ref, runOnDevice(p, MixCrossEntropy.Variant.FUSED, true));
        }
    }

    @Test
    void badLabelsAndNaNAreReportedFromTheDevice() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 8, 500, 0, 0.5f, 1.0, 3);
            p.labels.setAtIndex(ValueLayout.JAVA_LONG, 5, 500);
            LabelOutOfRangeException e = assertThrows(LabelOutOfRangeException.class,
                    () -> runOnDevice(p, MixCrossEntropy.Variant.FUSED, false));
            assertTrue(e.getMessage().contains("labels[5]"), e.getMessage());
            p.labels.setAtIndex(ValueLayout.JAVA_LONG, 5, 7);
            p.strong.set(2, 9, Float.NaN);
            NonFiniteException n = assertThrows(NonFiniteException.class, () -> runOnDevice(p, MixCrossEntropy.Variant.FUSED, false));
            assertTrue(n.getMessage().contains("row 2"), n.getMessage());
        }
    }

    @Test
    void hostBuffersWithDeviceLogitsAreRejected() {
        try (Arena arena = Arena.ofConfined(); DeviceMemory z = DeviceMemory.allocate(4 * 4 * 10)) {
            Logits d = Logits.onDevice(z, DType.F32, 4, 10);
            MemorySegment hostLabels = arena.allocate(32);
            assertThrows(InvalidArgumentException.class, () -> MixCrossEntropy.of(d, d, hostLabels).run());
            assertThrows(InvalidArgumentException.class, () -> d.get(0, 0));
        }
    }
}
