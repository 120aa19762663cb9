package dev.wmss.kernels;

import dev.wmss.kernels.ffi.WmssH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The CUDA side of {@link MixCrossEntropy}: runs when the logits are in {@link DeviceMemory}. Launches on the
 * default stream, then synchronises to read the device-side status (bad labels, non-finite rows) and the loss.
 */
final class Cuda {
    private Cuda() {}

    static double run(MixCrossEntropy.Call c, float invNorm, MemorySegment rowLoss) {
        if (c.variant != MixCrossEntropy.Variant.FUSED && c.variant != MixCrossEntropy.Variant.UNFUSED) {
            throw new InvalidArgumentException(Status.ARGUMENT, "variant " + c.variant + " runs on host memory only");
        }
        for (MemorySegment s : c.buffers(rowLoss)) {
            if (s != null && !DeviceMemory.isDevice(s)) {
                throw new InvalidArgumentException(Status.ARGUMENT, "the logits are in CUDA device memory, so every"
                        + " buffer of the call must be (labels, gradients, rowLoss, lse, entropy)");
            }
        }
        long rows = c.strong.rows(), vocab = c.strong.vocab();
        boolean unfused = c.variant == MixCrossEntropy.Variant.UNFUSED;
        try (Arena arena = Arena.ofConfined();
             DeviceMemory status = DeviceMemory.allocate(16);
             DeviceMemory ownLoss = rowLoss == null ? DeviceMemory.allocate(Math.max(4, rows * 4)) : null;
             DeviceMemory ws = unfused && c.workspace == null ? DeviceMemory.allocate(Math.max(4, 8 * rows * vocab)) : null) {
            MemorySegment loss = rowLoss != null ? rowLoss : ownLoss.segment();
            MemorySegment none = MemorySegment.NULL;
            Status.check(WmssH.wmss_cuda_status_reset(status.segment(), none), Backend::lastError);
            int st;
            if (unfused) {
                MemorySegment w = ws != null ? ws.segment() : c.workspace;
                st = WmssH.wmss_cuda_ce_mix_unfused(c.strong.dtype().code(), rows, vocab, c.strong.data(),
                        c.strong.rowStride(), c.weak.data(), c.weak.rowStride(), c.labels, c.lambda, invNorm, loss,
                        MixCrossEntropy.seg(c.gradStrong), MixCrossEntropy.ld(c.gradStrong),
                        MixCrossEntropy.seg(c.gradWeak), MixCrossEntropy.ld(c.gradWeak),
                        MixCrossEntropy.orNull(c.lse), MixCrossEntropy.orNull(c.entropy), status.segment(), none,
                        w, w.byteSize() / 4);
            } else {
                st = WmssH.wmss_cuda_ce_mix(c.strong.dtype().code(), rows, vocab, c.strong.data(), c.strong.rowStride(),
                        c.weak.data(), c.weak.rowStride(), c.labels, c.lambda, invNorm, loss,
                        MixCrossEntropy.seg(c.gradStrong), MixCrossEntropy.ld(c.gradStrong),
                        MixCrossEntropy.seg(c.gradWeak), MixCrossEntropy.ld(c.gradWeak),
                        MixCrossEntropy.orNull(c.lse), MixCrossEntropy.orNull(c.entropy), status.segment(), none);
            }
            Status.check(st, Backend::lastError);
            Status.check(WmssH.wmss_cuda_synchronize(none), Backend::lastError);
            MemorySegment flags = arena.allocate(16, 8);
            status.copyTo(flags);
            long badLabel = flags.get(ValueLayout.JAVA_LONG, 8), nonFinite = flags.get(ValueLayout.JAVA_LONG, 0);
            if (badLabel != Long.MAX_VALUE) {
                throw new LabelOutOfRangeException(Status.LABEL, "labels[" + badLabel + "] is outside [0, " + vocab
                        + ") and not the ignore index -100 (detected on the GPU; that row's outputs are NaN)");
            }
            if (nonFinite != Long.MAX_VALUE && !c.allowNonFinite) {
                throw new NonFiniteException(Status.NONFINITE, "row " + nonFinite + " is not finite (NaN or +inf"
                        + " logits, all logits -inf, or the label's logit is -inf)");
            }
            MemorySegment host = arena.allocate(Math.max(4, rows * 4), 8);
            Status.check(WmssH.wmss_cuda_memcpy(host, loss, rows * 4), Backend::lastError);
            double sum = 0;
            for (long r = 0; r < rows; r++) sum += host.getAtIndex(ValueLayout.JAVA_FLOAT, r);
            return sum * invNorm;
        }
    }
}
