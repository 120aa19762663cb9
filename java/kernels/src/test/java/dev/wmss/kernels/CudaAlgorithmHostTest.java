package dev.wmss.kernels;

import dev.wmss.kernels.ffi.WmssH;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The CUDA fused kernel's algorithm (native/cuda/ce_mix_algo.cuh: online statistics, warp/block/cluster merges,
 * split-V chunking, bf16 rounding, launch plan) executed on the CPU by wmss_cuda_host_ce_mix: extreme logits across
 * forced splits, the NaN report, and the launch plan. The random problems of every shape run in CeMixTest (plans
 * of sm_90 and sm_80) and the masked rows in CeMixMaskedRowsTest; the GPU itself in CeMixCudaTest where one exists.
 */
class CudaAlgorithmHostTest {
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
            Problem.Outputs ref = p.run(CeMixBackend.JAVA);
            for (int split : new int[]{1, 2, 5, 8})
                p.assertClose("split " + split, ref, p.run(CeMixTestBackends.cudaEmulation("split", 132, 8, split)));
        }
    }

    @Test
    void nanRowsAreReported() {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, DType.BF16, 4, 77, 0, 0.5f, 1.0, 5);
            p.strong.set(1, 10, Float.NaN);
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> CeMix.of(p.strong, p.weak, p.labels)
                    .invNorm(1f).rowLoss(p.rowLoss).gradStrong(p.gradStrong).run(CeMixTestBackends.cudaEmulation("split 3", 0, 0, 3)));
            assertTrue(e.getMessage().contains("row 1"), e.getMessage());
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

    private static int clusterLimit(int ccMajor, int clusterLaunch, int ptxVersion) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(4, 4);
            Status.check(WmssH.wmss_cuda_cluster_limit(ccMajor, clusterLaunch, ptxVersion, out), Backend::lastError);
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    @Test
    void splitRowsOnlyWhereTheLoadedCodeHasTheClusterMerge() {
        assertEquals(8, clusterLimit(9, 1, 90), "H100 running sm_90 code");
        assertEquals(1, clusterLimit(9, 1, 80), "H100 running JIT-compiled sm_80 PTX: the merge is compiled out");
        assertEquals(1, clusterLimit(8, 0, 80), "A100");
        assertEquals(1, clusterLimit(9, 0, 90), "cluster launch unsupported");
        assertEquals(1, plan(4, 128256, 132, clusterLimit(9, 1, 80), 112 * 1024)[0], "so the plan never splits");
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
