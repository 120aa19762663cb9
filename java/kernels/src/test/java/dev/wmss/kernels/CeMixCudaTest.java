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

    @ParameterizedTest(name = "{0} rows={1} vocab={2} lambda={3}")
    @CsvSource({"F32, 300, 1003, 1", "F32, 200, 128256, 0.5", "BF16, 64, 128256, 0.5", "F32, 4, 262144, 0.5",
            "BF16, 2, 256000, 0.5"})
    void largeShapesMatchReferenceAndCpu(DType dtype, int rows, int vocab, float lambda) {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, dtype, rows, vocab, 0, lambda, 3.0, rows * 31L + vocab);
            Problem.Outputs ref = p.run(CeMixBackend.JAVA);
            p.assertClose("cpu fused", ref, p.run(CeMixBackend.CPU_FUSED));
            for (boolean inPlace : new boolean[]{false, true})
                p.assertClose("cuda fused", ref, p.run(CeMixTestBackends.onDevice(CeMixBackend.CUDA_FUSED, inPlace)));
            p.assertClose("cuda unfused", ref, p.run(CeMixTestBackends.onDevice(CeMixBackend.CUDA_UNFUSED, false)));
        }
    }

    @Test
    void badLabelsAndNaNAreReportedFromTheDevice() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 8, 500, 0, 0.5f, 1.0, 3);
            p.labels.setAtIndex(ValueLayout.JAVA_LONG, 5, 500);
            CeMixBackend gpu = CeMixTestBackends.onDevice(CeMixBackend.CUDA_FUSED, false);
            LabelOutOfRangeException e = assertThrows(LabelOutOfRangeException.class, () -> p.run(gpu));
            assertTrue(e.getMessage().contains("labels[5]"), e.getMessage());
            p.labels.setAtIndex(ValueLayout.JAVA_LONG, 5, 7);
            p.strong.set(2, 9, Float.NaN);
            NonFiniteException n = assertThrows(NonFiniteException.class, () -> p.run(gpu));
            assertTrue(n.getMessage().contains("row 2"), n.getMessage());
        }
    }

    @Test
    void hostBuffersWithDeviceLogitsAreRejected() {
        try (Arena arena = Arena.ofConfined(); DeviceMemory z = DeviceMemory.allocate(4 * 4 * 10)) {
            Logits d = Logits.onDevice(z, DType.F32, 4, 10);
            MemorySegment hostLabels = arena.allocate(32);
            assertThrows(InvalidArgumentException.class, () -> CeMix.of(d, d, hostLabels).invNorm(1f).run());
            assertThrows(InvalidArgumentException.class, () -> CeMix.of(d, d, hostLabels).run(), "invNorm required");
            assertThrows(InvalidArgumentException.class, () -> Logits.onDevice(hostLabels, DType.F32, 4, 2, 2),
                    "a host pointer is not device logits");
            assertEquals(DeviceMemory.Kind.DEVICE, DeviceMemory.kindOf(z.segment()));
            assertEquals(DeviceMemory.Kind.HOST, DeviceMemory.kindOf(hostLabels));
        }
    }
}
