package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.Status;
import dev.wmss.kernels.ffi.WmssH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.locks.ReentrantLock;

/** ce_mix on the CPU through libwmss: the fused kernel ({@code wmss_ce_mix}) or the unfused baseline. */
final class CeMixCpu implements CeMixBackend {
    private final boolean fused;
    private final MemorySegment workspace; // unfused only; null = allocated per call
    private final ReentrantLock workspaceInUse = new ReentrantLock(); // one call at a time uses a caller's workspace

    CeMixCpu(boolean fused) {
        this.fused = fused;
        this.workspace = null;
    }

    CeMixCpu(MemorySegment workspace) {
        if (workspace == null) throw new InvalidArgumentException(Status.NULL_POINTER, "the unfused workspace is null");
        if (!workspace.isNative()) {
            throw new InvalidArgumentException(Status.ARGUMENT, "the unfused workspace must be a native (off-heap)"
                    + " segment; got a heap segment " + workspace + " (allocate with an Arena)");
        }
        if (workspace.isReadOnly()) {
            throw new InvalidArgumentException(Status.ARGUMENT, "the unfused workspace is read-only: the kernel writes it");
        }
        this.fused = false;
        this.workspace = workspace;
    }

    @Override
    public String name() {
        return fused ? "cpu-fused" : "cpu-unfused";
    }

    @Override
    public boolean accepts(CeMixArgs args) {
        return !args.onDevice();
    }

    @Override
    public double run(CeMixArgs a) {
        requireAccepts(a);
        requireNativeHost(a);
        Backend.current();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment loss = a.rowLoss() != null ? a.rowLoss() : arena.allocate(Math.max(4, a.rows() * 4), 64);
            MemorySegment args = a.toNative(arena, loss);
            int st;
            if (fused) {
                st = WmssH.wmss_ce_mix(args);
            } else if (workspace == null) {
                long need = Math.max(1, 2 * a.rows() * a.vocab());
                MemorySegment ws = arena.allocate(need * 4, 64);
                st = WmssH.wmss_ce_mix_unfused(args, ws, ws.byteSize() / 4);
            } else { // threads sharing this backend take turns: the workspace holds one call's intermediates
                workspaceInUse.lock();
                try {
                    st = WmssH.wmss_ce_mix_unfused(args, workspace, workspace.byteSize() / 4);
                } finally {
                    workspaceInUse.unlock();
                }
            }
            Status.check(st, Backend::lastError);
            return sum(loss, a.rows()) * a.effectiveInvNorm();
        }
    }

    static double sum(MemorySegment hostFloats, long n) {
        double s = 0;
        for (long r = 0; r < n; r++) s += hostFloats.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, r);
        return s;
    }

    /**
     * The native kernels need off-heap segments, and on a machine with a GPU none of them may be device memory
     * (the CPU would fault on it): checked through CUDA itself, only where CUDA is in use.
     */
    static void requireNativeHost(CeMixArgs a) {
        requireNativeHost(a.buffers());
    }

    static void requireNativeHost(MemorySegment... buffers) {
        boolean cuda = Backend.current().cudaUsable();
        for (MemorySegment s : buffers) {
            if (s == null) continue;
            if (!s.isNative()) {
                throw new InvalidArgumentException(Status.ARGUMENT, "native backends need native (off-heap)"
                        + " segments; got a heap segment " + s + " (allocate with an Arena)");
            }
            if (cuda && DeviceMemory.kindOf(s) != DeviceMemory.Kind.HOST) {
                throw new InvalidArgumentException(Status.ARGUMENT, "a buffer is in CUDA memory but the logits are on"
                        + " the host: keep all buffers of a call on one side");
            }
        }
    }
}
