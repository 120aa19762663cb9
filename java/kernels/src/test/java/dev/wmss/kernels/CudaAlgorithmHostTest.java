package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.NonFiniteException;
import dev.wmss.kernels.error.Status;
import dev.wmss.kernels.ffi.WmssDevH;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The CUDA fused kernel's algorithm (native/cuda/ce_mix_algo.cuh: online statistics, warp/block/cluster merges,
 * split-V chunking, bf16 rounding, launch plan) executed on the CPU by wmss_cuda_host_ce_mix, in each variant of the
 * fused kernel: extreme logits across forced splits, NaN and +inf reported like the CPU kernel does, the variant
 * selector, and the launch plan. The random problems of every shape run in CeMixTest (plans
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
            Problem.Outputs ref = p.run(KernelBackends.ceMix("java"));
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

    static final String[] VARIANTS = {"v1", "v2", "v3", "v4", "v5"};
    private static final Pattern ROW = Pattern.compile("row (\\d+)");

    static List<Arguments> nonFiniteCases() {
        List<Arguments> out = new ArrayList<>();
        for (String v : VARIANTS)
            for (DType dt : DType.values())
                for (float value : new float[]{Float.POSITIVE_INFINITY, Float.NaN, Float.NEGATIVE_INFINITY})
                    out.add(Arguments.of(v, dt, value));
        return out;
    }

    /** The whole problem as a call, with or without the statistics (without, ignored rows are not even read). */
    private static CeMixArgs.Builder call(Problem p, boolean stats) {
        return stats ? p.call() : CeMix.of(p.strong, p.weak, p.labels).lambda(p.lambda).invNorm(p.invNorm)
                .gradStrong(p.gradStrong).gradWeak(p.gradWeak).rowLoss(p.rowLoss);
    }

    /** "ok", or the row a NonFiniteException names. */
    private static String outcome(Problem p, CeMixBackend b, boolean stats) {
        p.poison();
        try {
            call(p, stats).run(b);
            return "ok";
        } catch (NonFiniteException e) {
            Matcher m = ROW.matcher(e.getMessage());
            return m.find() ? "row " + m.group(1) : e.getMessage();
        }
    }

    /**
     * Issue 19 item 1: a +inf logit (or NaN) in either input, in the first, a middle or the last chunk of a split
     * row, at the label or elsewhere, in labelled and in ignored rows, is reported exactly as the CPU kernel reports
     * it (the same first row, or nothing where lambda makes the input unused or an ignored row is not read), and
     * with WMSS_FLAG_ALLOW_NONFINITE every output equals the CPU kernel's, NaN for NaN. Before the fix a +inf
     * partial's NaN sum was dropped by the merge: status 0, finite loss, lse and entropy, NaN gradients. -inf is
     * a logit like any other except at the label, where the loss is infinite and reported (the gradients finite).
     */
    @ParameterizedTest(name = "{0} {1} {2}")
    @MethodSource("nonFiniteCases")
    void nonFiniteLogitsAreReportedLikeTheCpuKernel(String variant, DType dtype, float value) {
        int vocab = 4099; // odd: no split divides it, the last chunk is short
        CeMixBackend cpu = KernelBackends.ceMix("cpu-fused");
        try (Arena arena = Arena.ofConfined()) {
            for (float lambda : new float[]{0.5f, 1f, 0f})
                for (int input = 0; input < 2; input++)
                    for (int rowsCase = 0; rowsCase < 2; rowsCase++) {
                        Problem p = new Problem(arena, dtype, 6, vocab, 1, lambda, 2.0, 11 + input + 7L * rowsCase);
                        Logits.Host z = input == 0 ? p.strong : p.weak;
                        if (rowsCase == 0) { // labelled rows, the value in the first, a middle, the last chunk
                            z.set(1, 0, value);
                            z.set(2, (int) p.label(2), value); // the label's own logit
                            z.set(4, vocab - 1, value);
                        }
                        z.set(3, vocab / 2 + 1, value); // row 3 is ignored (Problem: every 5th row from 3)
                        for (int split : new int[]{0, 1, 3, 8, 16, 40}) {
                            CeMixBackend emu = CeMixTestBackends.withVariant(variant,
                                    CeMixTestBackends.cudaEmulation(variant + " split " + split, 132, 8, split));
                            for (boolean stats : new boolean[]{true, false}) {
                                String what = variant + " lambda " + lambda + (input == 0 ? " strong" : " weak") + " case "
                                        + rowsCase + " split " + split + (stats ? " with stats" : "");
                                assertEquals(outcome(p, cpu, stats), outcome(p, emu, stats), what);
                                p.poison();
                                call(p, stats).allowNonFinite(true).run(cpu);
                                Problem.Outputs ref = p.snapshot(0);
                                p.poison();
                                call(p, stats).allowNonFinite(true).run(emu);
                                Problem.Outputs got = p.snapshot(0);
                                p.assertRows(what + " loss", ref.rowLoss(), got.rowLoss(), p.rows);
                                p.assertRows(what + " lse", ref.lse(), got.lse(), p.rows);
                                p.assertRows(what + " entropy", ref.entropy(), got.entropy(), p.rows);
                                p.assertGrads(what + " gradStrong", ref.gs(), got.gs());
                                p.assertGrads(what + " gradWeak", ref.gw(), got.gw());
                            }
                        }
                    }
            // and the cases above did exercise a report
            Problem p = new Problem(arena, dtype, 6, vocab, 1, 0.5f, 2.0, 3);
            p.weak.set(4, value == Float.NEGATIVE_INFINITY ? (int) p.label(4) : vocab - 1, value);
            assertEquals("row 4", outcome(p, CeMixTestBackends.withVariant(variant,
                    CeMixTestBackends.cudaEmulation(variant, 132, 8, 8)), true));
        }
    }

    @Test
    void variantSelector() {
        assertEquals("auto", CeMixTestBackends.variant());
        for (String v : new String[]{"v1", "v2", "v3", "v4", "v5", "auto"}) {
            CeMixTestBackends.setVariant(v);
            assertEquals(v, CeMixTestBackends.variant());
        }
        assertThrows(InvalidArgumentException.class, () -> CeMixTestBackends.setVariant("v9"));
        assertEquals("auto", CeMixTestBackends.variant(), "a refused name changes nothing");
    }

    private static long[] plan(long rows, long vocab, int sms, int cluster, long smem) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(32, 8);
            Status.check(WmssDevH.wmss_cuda_plan(rows, vocab, sms, cluster, smem, out), Backend::lastError);
            return out.toArray(ValueLayout.JAVA_LONG);
        }
    }

    private static int clusterLimit(int ccMajor, int clusterLaunch, int ptxVersion) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(4, 4);
            Status.check(WmssDevH.wmss_cuda_cluster_limit(ccMajor, clusterLaunch, ptxVersion, out), Backend::lastError);
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
