package dev.wmss.kernels;

import dev.wmss.kernels.error.Status;
import dev.wmss.kernels.ffi.WmssH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The entropy op on the GPU ({@code wmss_cuda_entropy}) on the default stream; every buffer must be CUDA memory.
 * The call then synchronises to read the device status words (bad labels, non-finite rows).
 */
final class EntropyCuda implements EntropyBackend {
    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public boolean accepts(EntropyArgs args) {
        return args.onDevice();
    }

    @Override
    public void run(EntropyArgs a) {
        requireAccepts(a);
        MemorySegment none = MemorySegment.NULL;
        try (Arena arena = Arena.ofConfined(); DeviceMemory status = DeviceMemory.allocate(16)) {
            Status.check(WmssH.wmss_cuda_status_reset(status.segment(), none), Backend::lastError);
            Status.check(WmssH.wmss_cuda_entropy(a.toNative(arena), status.segment(), none), Backend::lastError);
            Status.check(WmssH.wmss_cuda_synchronize(none), Backend::lastError);
            MemorySegment words = arena.allocate(16, 8);
            status.copyTo(words);
            CeMixCuda.throwOnStatus(words, a.vocab(), a.allowNonFinite());
        }
    }
}
