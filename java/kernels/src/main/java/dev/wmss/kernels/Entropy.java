package dev.wmss.kernels;

import dev.wmss.kernels.ffi.WmssH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Per-row entropy of one model's distribution {@code softmax(z)}, fused with its NLL: the quantity WD-DS
 * averages over answer positions (H0 under the weak model, H1 under the strong one). Host logits run on the CPU
 * kernel ({@code wmss_entropy}), device logits on the GPU ({@code wmss_cuda_entropy}, every buffer on the device).
 */
public final class Entropy {
    private Entropy() {}

    /**
     * Writes {@code entropy[r]} (nats) for every row, and {@code nll[r]} (0 for ignored rows) and {@code lse[r]}
     * when those are non-null. {@code labels} and {@code nll} are both given or both null.
     */
    public static void compute(Logits z, MemorySegment labels, MemorySegment entropy, MemorySegment nll,
                               MemorySegment lse, boolean allowNonFinite) {
        if (z == null) throw new InvalidArgumentException(Status.NULL_POINTER, "z is null");
        long n = z.rows() * 4;
        CeMixArgs.requireWritable("entropy", CeMixArgs.requireLength("entropy", entropy, n));
        if (labels != null) CeMixArgs.requireLength("labels", labels, z.rows() * 8);
        if (nll != null) CeMixArgs.requireWritable("nll", CeMixArgs.requireLength("nll", nll, n));
        if (lse != null) CeMixArgs.requireWritable("lse", CeMixArgs.requireLength("lse", lse, n));
        MemorySegment[] buffers = {z.data(), labels, entropy, nll, lse};
        if (z instanceof Logits.Device) {
            onDevice(z, labels, entropy, nll, lse, allowNonFinite);
            return;
        }
        CeMixCpu.requireNativeHost(buffers);
        Backend.current();
        int st = WmssH.wmss_entropy(z.dtype().code(), z.rows(), z.vocab(), z.data(), z.rowStride(), orNull(labels),
                entropy, orNull(nll), orNull(lse), allowNonFinite ? 1 : 0);
        Status.check(st, Backend::lastError);
    }

    private static void onDevice(Logits z, MemorySegment labels, MemorySegment entropy, MemorySegment nll,
                                 MemorySegment lse, boolean allowNonFinite) {
        try (Arena arena = Arena.ofConfined(); DeviceMemory status = DeviceMemory.allocate(16)) {
            MemorySegment none = MemorySegment.NULL;
            Status.check(WmssH.wmss_cuda_status_reset(status.segment(), none), Backend::lastError);
            Status.check(WmssH.wmss_cuda_entropy(z.dtype().code(), z.rows(), z.vocab(), z.data(), z.rowStride(),
                    orNull(labels), entropy, orNull(nll), orNull(lse), status.segment(), none), Backend::lastError);
            Status.check(WmssH.wmss_cuda_synchronize(none), Backend::lastError);
            MemorySegment words = arena.allocate(16, 8);
            status.copyTo(words);
            CeMixCuda.throwOnStatus(words, z.vocab(), allowNonFinite);
        }
    }

    /** Mean entropy over the rows whose label is not −100 (0 if there are none): WD-DS's H of one example. */
    public static double meanOverLabelled(Logits.Host z, MemorySegment labels) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = arena.allocate(Math.max(4, z.rows() * 4), 64);
            MemorySegment nll = arena.allocate(Math.max(4, z.rows() * 4), 64);
            compute(z, labels, h, nll, null, false);
            double sum = 0;
            long n = 0;
            for (long r = 0; r < z.rows(); r++) {
                if (labels.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, r) == CeMix.IGNORE_INDEX) continue;
                sum += h.getAtIndex(ValueLayout.JAVA_FLOAT, r);
                n++;
            }
            return n == 0 ? 0 : sum / n;
        }
    }

    private static MemorySegment orNull(MemorySegment s) {
        return s == null ? MemorySegment.NULL : s;
    }
}
