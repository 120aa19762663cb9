package dev.wmss.kernels;

import dev.wmss.kernels.ffi.WmssH;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The CUDA fused kernel's algorithm (native/cuda/ce_mix_algo.cuh: online statistics, warp/block/cluster merges,
 * split-V chunking, bf16 rounding, launch plan) executed on the CPU by wmss_cuda_host_ce_mix, against the float64
 * reference. Runs everywhere; the GPU itself is tested by CeMixCudaTest where a device exists.
 */
class CudaAlgorithmHostTest {
    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        int[][] shapes = {{9, 1}, {13, 7}, {21, 1000}, {4, 32003}, {2, 151936}};
        for (DType dt : DType.values())
            for (int[] s : shapes)
                for (int split : new int[]{0, 1, 3, 8})
                    for (float lambda : new float[]{0f, 0.5f, 1f})
                        if (s[1] < 32003 || (lambda == 0.5f && split != 1))
                            out.add(Arguments.of(dt, s[0], s[1], split, lambda));
        return out;
    }

    @ParameterizedTest(name = "{0} rows={1} vocab={2} split={3} lambda={4}")
    @MethodSource("cases")
    void hostEmulationMatchesFloat64Reference(DType dtype, int rows, int vocab, int split, float lambda) {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, dtype, rows, vocab, vocab % 4 == 1 ? 1 : 0, lambda, 3.0, vocab * 7L + split);
            Problem.Outputs ref = p.run(MixCrossEntropy.Variant.JAVA);
            p.poison();
            int st = WmssH.wmss_cuda_host_ce_mix(dtype.code(), rows, vocab, p.strong.data(), p.ld, p.weak.data(), p.ld,
                    p.labels, lambda, p.invNorm, p.rowLoss, p.gradStrong.data(), p.ld, p.gradWeak.data(), p.ld, p.lse,
                    p.entropy, 0, split, 0);
            Status.check(st, Backend::lastError);
            double loss = 0;
            for (int r = 0; r < rows; r++) loss += p.rowLoss.getAtIndex(ValueLayout.JAVA_FLOAT, r);
            p.assertClose("cuda algorithm on host", ref, p.snapshot(loss * p.invNorm));
        }
    }

    @Test
    void extremeAndInfiniteLogitsAcrossSplits() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.F32, 6, 999, 0, 0.5f, 1.0, 17);
            for (int r = 0; r < p.rows; r++) {
                p.strong.set(r, (r * 131) % p.vocab, 1e4f);
                p.weak.set(r, (r * 71 + 3) % p.vocab, -1e4f);
                for (int v = 1; v < p.vocab; v += 5) if (v != p.label(r)) p.weak.set(r, v, Float.NEGATIVE_INFINITY);
            }
            p.maxAbs = 1e4;
            Problem.Outputs ref = p.run(MixCrossEntropy.Variant.JAVA);
            for (int split : new int[]{1, 2, 5, 8}) {
                p.poison();
                Status.check(WmssH.wmss_cuda_host_ce_mix(0, p.rows, p.vocab, p.strong.data(), p.ld, p.weak.data(), p.ld,
                        p.labels, 0.5f, p.invNorm, p.rowLoss, p.gradStrong.data(), p.ld, p.gradWeak.data(), p.ld, p.lse,
                        p.entropy, 0, split, 0), Backend::lastError);
                p.assertClose("split " + split, ref, p.snapshot(ref.loss()));
            }
        }
    }

    @Test
    void nanRowsAreReported() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.BF16, 4, 77, 0, 0.5f, 1.0, 5);
            p.strong.set(1, 10, Float.NaN);
            int st = WmssH.wmss_cuda_host_ce_mix(1, 4, 77, p.strong.data(), 77, p.weak.data(), 77, p.labels, 0.5f, 1f,
                    p.rowLoss, p.gradStrong.data(), 77, MemorySegment.NULL, 0, MemorySegment.NULL, MemorySegment.NULL, 0, 3, 0);
            assertEquals(Status.NONFINITE, Status.of(st));
            assertTrue(Backend.lastError().contains("row 1"), Backend.lastError());
            assertTrue(Float.isNaN(p.rowLoss.getAtIndex(ValueLayout.JAVA_FLOAT, 1)));
            assertTrue(Float.isFinite(p.rowLoss.getAtIndex(ValueLayout.JAVA_FLOAT, 0)));
        }
    }

    private static long[] plan(long rows, long vocab, int sms, int cluster, long smem) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(32, 8);
            Status.check(WmssH.wmss_cuda_plan(rows, vocab, sms, cluster, smem, out), Backend::lastError);
            return out.toArray(ValueLayout.JAVA_LONG);
        }
    }

    @Test
    void launchPlanKeepsRowsInSharedMemoryAndFillsTheGpu() {
        // H100 (132 SMs, clusters of 8, 112 KiB budget), Llama-3 vocabulary, many rows: 5 blocks per row, resident.
        long[] p = plan(8192, 128256, 132, 8, 112 * 1024);
        assertEquals(5, p[0]);
        assertEquals(25656, p[1]);
        assertEquals(1, p[2]);
        assertTrue(p[1] * p[0] >= 128256 && p[1] % 8 == 0 && p[3] == p[1] * 4 && p[3] <= 112 * 1024);
        // Few rows: split up to the cluster limit so that the GPU gets >= 2 blocks per SM where it can.
        assertEquals(8, plan(4, 32000, 132, 8, 112 * 1024)[0]);
        // sm_80: no clusters, one block per row; a 32000 row (125 KiB) is not resident in a 112 KiB budget.
        long[] a100 = plan(4096, 32000, 108, 1, 112 * 1024);
        assertEquals(1, a100[0]);
        assertEquals(0, a100[2]);
        // A vocabulary too large for any cluster's shared memory streams twice instead.
        assertEquals(0, plan(64, 1_000_000, 132, 8, 112 * 1024)[2]);
        assertThrows(InvalidArgumentException.class, () -> plan(1, 0, 132, 8, 112 * 1024));
    }
}
