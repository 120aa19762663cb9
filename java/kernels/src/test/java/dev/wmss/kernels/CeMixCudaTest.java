package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.LabelOutOfRangeException;
import dev.wmss.kernels.error.NonFiniteException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

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
            "BF16, 2, 256000, 0.5", "F32, 4, 300000, 0.5", "BF16, 4, 300000, 0"})
    void largeShapesMatchReferenceAndCpu(DType dtype, int rows, int vocab, float lambda) {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, dtype, rows, vocab, 0, lambda, 3.0, rows * 31L + vocab);
            Problem.Outputs ref = p.run(KernelBackends.ceMix("java"));
            p.assertClose("cpu fused", ref, p.run(KernelBackends.ceMix("cpu-fused")));
            for (String variant : VARIANTS)
                for (boolean inPlace : new boolean[]{false, true})
                    p.assertClose("cuda fused " + variant, ref, p.run(CeMixTestBackends.withVariant(variant,
                            CeMixTestBackends.onDevice(KernelBackends.ceMix("cuda-fused"), inPlace))));
            p.assertClose("cuda unfused", ref, p.run(CeMixTestBackends.onDevice(KernelBackends.ceMix("cuda-unfused"), false)));
        }
    }

    static final String[] VARIANTS = {"auto", "v1", "v2", "v3", "v4", "v5"};

    /**
     * Issue 19 item 1 on the device: +inf or NaN in either input, in the first, a middle or the last chunk of a split
     * row, at the label, in an ignored row with statistics, and -inf at the label (an infinite loss): every variant
     * (and the unfused baseline) reports the row the CPU kernel reports, and with non-finite rows allowed writes the
     * CPU kernel's outputs, NaN for NaN.
     */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"F32, 4099", "BF16, 4099", "F32, 300000", "BF16, 262144"})
    void infiniteAndNaNLogitsAreReportedFromTheDevice(DType dtype, int vocab) {
        try (Arena arena = Arena.ofConfined()) {
            for (float value : new float[]{Float.POSITIVE_INFINITY, Float.NaN, Float.NEGATIVE_INFINITY})
                for (int where = 0; where < 4; where++) {
                    if (value == Float.NEGATIVE_INFINITY && where != 2) continue; // -inf matters at the label only
                    Problem p = new Problem(arena, dtype, 5, vocab, 0, 0.5f, 2.0, 7 + where);
                    switch (where) {
                        case 0 -> p.strong.set(1, 0, value);
                        case 1 -> p.weak.set(2, vocab / 2 + 1, value);
                        case 2 -> p.strong.set(4, (int) p.label(4), value);
                        default -> p.weak.set(3, vocab - 1, value); // row 3 is ignored; statistics are wanted
                    }
                    Problem.Outputs ref = p.snapshot(0);
                    String want = null;
                    try {
                        p.poison();
                        p.call().run(KernelBackends.ceMix("cpu-fused"));
                    } catch (NonFiniteException e) {
                        want = e.getMessage().replaceAll(".*(row \\d+).*", "$1");
                    }
                    assertNotNull(want, "the CPU kernel reports it");
                    p.poison();
                    p.call().allowNonFinite(true).run(KernelBackends.ceMix("cpu-fused"));
                    ref = p.snapshot(0);
                    List<CeMixBackend> gpus = new ArrayList<>();
                    for (String v : VARIANTS)
                        gpus.add(CeMixTestBackends.withVariant(v, CeMixTestBackends.onDevice(KernelBackends.ceMix("cuda-fused"), where % 2 == 1)));
                    gpus.add(CeMixTestBackends.onDevice(KernelBackends.ceMix("cuda-unfused"), false));
                    for (CeMixBackend gpu : gpus) {
                        String what = gpu.name() + " " + value + " case " + where;
                        p.poison();
                        NonFiniteException e = assertThrows(NonFiniteException.class, () -> p.call().run(gpu), what);
                        assertTrue(e.getMessage().contains(want + " "), what + ": " + e.getMessage() + " vs " + want);
                        p.poison();
                        p.call().allowNonFinite(true).run(gpu);
                        Problem.Outputs got = p.snapshot(0);
                        p.assertRows(what + " loss", ref.rowLoss(), got.rowLoss(), p.rows);
                        p.assertRows(what + " lse", ref.lse(), got.lse(), p.rows);
                        p.assertRows(what + " entropy", ref.entropy(), got.entropy(), p.rows);
                        p.assertGrads(what + " gradStrong", ref.gs(), got.gs());
                        p.assertGrads(what + " gradWeak", ref.gw(), got.gw());
                    }
                }
        }
    }

    /** The entropy op on the device (the fused kernel with lambda = 1) reports +inf like the CPU one, every variant. */
    @Test
    void entropyOpReportsInfinity() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.BF16, 4, 150001, 0, 1f, 2.0, 5);
            p.strong.set(2, 77777, Float.POSITIVE_INFINITY);
            assertThrows(NonFiniteException.class, () -> Entropy.of(p.strong, p.entropy).labels(p.labels, p.rowLoss).lse(p.lse).run());
            try (DeviceMemory z = DeviceMemory.copyOf(p.strong.data()); DeviceMemory labels = DeviceMemory.copyOf(p.labels);
                 DeviceMemory h = DeviceMemory.allocate(16); DeviceMemory nll = DeviceMemory.allocate(16)) {
                Logits dz = Logits.onDevice(z.segment(), DType.BF16, 4, 150001, p.strong.rowStride());
                for (String v : VARIANTS) {
                    CeMixTestBackends.setVariant(v);
                    try {
                        NonFiniteException e = assertThrows(NonFiniteException.class,
                                () -> Entropy.of(dz, h.segment()).labels(labels.segment(), nll.segment()).run(), v);
                        assertTrue(e.getMessage().contains("row 2"), v + ": " + e.getMessage());
                    } finally {
                        CeMixTestBackends.setVariant("auto");
                    }
                }
            }
        }
    }

    @Test
    void badLabelsAndNaNAreReportedFromTheDevice() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 8, 500, 0, 0.5f, 1.0, 3);
            p.labels.setAtIndex(ValueLayout.JAVA_LONG, 5, 500);
            CeMixBackend gpu = CeMixTestBackends.onDevice(KernelBackends.ceMix("cuda-fused"), false);
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
