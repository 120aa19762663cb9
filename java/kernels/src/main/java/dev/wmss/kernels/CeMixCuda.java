package dev.wmss.kernels;

import dev.wmss.kernels.error.LabelOutOfRangeException;
import dev.wmss.kernels.error.NonFiniteException;
import dev.wmss.kernels.error.Status;
import dev.wmss.kernels.ffi.WmssH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ce_mix on the GPU: the fused kernel (one launch) or the unfused baseline, on the default stream. Every buffer
 * must be CUDA memory (the native side checks each pointer with cudaPointerGetAttributes, whichever allocator it
 * came from). The call then synchronises to read the device status words (bad labels, non-finite rows) and the
 * per-row losses.
 */
final class CeMixCuda implements CeMixBackend {
    private final boolean fused;

    CeMixCuda(boolean fused) {
        this.fused = fused;
    }

    @Override
    public String name() {
        return fused ? "cuda-fused" : "cuda-unfused";
    }

    @Override
    public boolean accepts(CeMixArgs args) {
        return args.onDevice();
    }

    @Override
    public double run(CeMixArgs a) {
        requireAccepts(a);
        long rows = a.rows(), vocab = a.vocab();
        MemorySegment none = MemorySegment.NULL;
        try (Arena arena = Arena.ofConfined();
             DeviceMemory status = DeviceMemory.allocate(16);
             DeviceMemory ownLoss = a.rowLoss() == null ? DeviceMemory.allocate(Math.max(4, rows * 4)) : null;
             DeviceMemory ws = fused ? null : DeviceMemory.allocate(Math.max(4, 8 * rows * vocab))) {
            MemorySegment loss = a.rowLoss() != null ? a.rowLoss() : ownLoss.segment();
            MemorySegment args = a.toNative(arena, loss);
            Status.check(WmssH.wmss_cuda_status_reset(status.segment(), none), Backend::lastError);
            int st = fused ? WmssH.wmss_cuda_ce_mix(args, status.segment(), none)
                    : WmssH.wmss_cuda_ce_mix_unfused(args, status.segment(), none, ws.segment(), ws.byteSize() / 4);
            Status.check(st, Backend::lastError);
            Status.check(WmssH.wmss_cuda_synchronize(none), Backend::lastError);
            MemorySegment words = arena.allocate(16, 8);
            status.copyTo(words);
            throwOnStatus(words, vocab, a.allowNonFinite());
            MemorySegment host = arena.allocate(Math.max(4, rows * 4), 8);
            Status.check(WmssH.wmss_cuda_memcpy(host, loss, rows * 4), Backend::lastError);
            return CeMixCpu.sum(host, rows) * a.invNorm();
        }
    }

    /** The device status words (first non-finite row, first row with a bad label) as the typed exceptions. */
    static void throwOnStatus(MemorySegment words, long vocab, boolean allowNonFinite) {
        long nonFinite = words.get(ValueLayout.JAVA_LONG, 0), badLabel = words.get(ValueLayout.JAVA_LONG, 8);
        if (badLabel != Long.MAX_VALUE) {
            throw new LabelOutOfRangeException(Status.LABEL, "labels[" + badLabel + "] is outside [0, " + vocab
                    + ") and not the ignore index -100 (detected on the GPU; that row's outputs are NaN)");
        }
        if (nonFinite != Long.MAX_VALUE && !allowNonFinite) {
            throw new NonFiniteException(Status.NONFINITE, "row " + nonFinite + " is not finite (NaN or +inf"
                    + " logits, all logits -inf, or the label's logit is -inf; detected on the GPU)");
        }
    }
}
