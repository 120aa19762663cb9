package dev.wmss.kernels;

import dev.wmss.kernels.error.Status;
import dev.wmss.kernels.ffi.WmssH;

import java.lang.foreign.Arena;

/** The entropy op on the CPU through libwmss ({@code wmss_entropy}): one pass per row, SIMD + OpenMP. */
final class EntropyCpu implements EntropyBackend {
    @Override
    public String name() {
        return "cpu";
    }

    @Override
    public boolean accepts(EntropyArgs args) {
        return !args.onDevice();
    }

    @Override
    public void run(EntropyArgs a) {
        requireAccepts(a);
        CeMixCpu.requireNativeHost(a.buffers());
        Backend.current();
        try (Arena arena = Arena.ofConfined()) {
            Status.check(WmssH.wmss_entropy(a.toNative(arena)), Backend::lastError);
        }
    }
}
