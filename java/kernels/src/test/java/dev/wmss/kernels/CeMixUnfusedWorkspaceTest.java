package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.Status;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The unfused baseline's caller-owned workspace ({@link KernelBackends#cpuUnfused}): it holds one call's
 * intermediates, so it may overlap none of the call's buffers, must be writable native memory, and threads sharing
 * one backend must not interleave in it. An audit found all four returning wrong losses (or writing read-only
 * memory) without an error.
 */
class CeMixUnfusedWorkspaceTest {
    @Test
    void aWorkspaceOverlappingTheCallIsRefused() {
        try (Arena arena = Arena.ofShared()) {
            int rows = 8, vocab = 6;
            MemorySegment big = arena.allocate((2L * rows * vocab + vocab) * 4, 64);
            Logits.Host strong = Logits.of(big, DType.F32, rows, vocab);
            Problem p = new Problem(arena, DType.F32, rows, vocab, 0, 0.5f, 1.0, 3);
            for (int r = 0; r < rows; r++) for (int v = 0; v < vocab; v++) strong.set(r, v, p.strong.get(r, v));
            CeMixBackend overStrong = KernelBackends.cpuUnfused(big.asSlice((long) vocab * 4));
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> CeMix.of(strong, p.weak, p.labels).run(overStrong));
            assertEquals(Status.ALIAS, e.status());
            assertTrue(e.getMessage().contains("workspace overlaps z_strong"), e.getMessage());

            MemorySegment ws = arena.allocate(2L * rows * vocab * 4, 64);
            MemorySegment lossInWs = ws.asSlice((long) rows * vocab * 4, rows * 4L);
            e = assertThrows(InvalidArgumentException.class, () -> CeMix.of(p.strong, p.weak, p.labels)
                    .gradStrong(p.gradStrong).rowLoss(lossInWs).run(KernelBackends.cpuUnfused(ws)));
            assertEquals(Status.ALIAS, e.status());
            assertTrue(e.getMessage().contains("workspace overlaps loss"), e.getMessage());

            // the same call with a workspace of its own gives the reference's loss
            double ref = CeMix.of(p.strong, p.weak, p.labels).run(KernelBackends.ceMix("java"));
            double got = CeMix.of(p.strong, p.weak, p.labels).run(KernelBackends.cpuUnfused(ws));
            assertEquals(ref, got, 1e-5 * Math.abs(ref));
        }
    }

    @Test
    void aReadOnlyOrHeapWorkspaceIsRefused() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ws = arena.allocate(1024, 64);
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class,
                    () -> KernelBackends.cpuUnfused(ws.asReadOnly()));
            assertTrue(e.getMessage().contains("read-only"), e.getMessage());
            e = assertThrows(InvalidArgumentException.class,
                    () -> KernelBackends.cpuUnfused(MemorySegment.ofArray(new float[256])));
            assertTrue(e.getMessage().contains("heap"), e.getMessage());
        }
    }

    @Test
    void threadsSharingOneWorkspaceTakeTurns() throws Exception {
        int rows = 32, vocab = 2000, threads = 4, calls = 25;
        try (Arena arena = Arena.ofShared(); ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            CeMixBackend shared = KernelBackends.cpuUnfused(arena.allocate(2L * rows * vocab * 4, 64));
            List<Future<String>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Problem p = new Problem(arena, DType.F32, rows, vocab, 0, 0.5f, 2.0, 100 + t);
                double ref = CeMix.of(p.strong, p.weak, p.labels).invNorm(p.invNorm).run(KernelBackends.ceMix("java"));
                results.add(pool.submit(() -> {
                    for (int i = 0; i < calls; i++) {
                        double got = CeMix.of(p.strong, p.weak, p.labels).invNorm(p.invNorm).run(shared);
                        if (Math.abs(got - ref) > 1e-5 * Math.abs(ref)) return "call " + i + ": " + got + " vs " + ref;
                    }
                    return "ok";
                }));
            }
            for (Future<String> f : results) assertEquals("ok", f.get());
        }
    }
}
