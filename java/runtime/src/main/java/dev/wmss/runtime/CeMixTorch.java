package dev.wmss.kernels;

import dev.wmss.kernels.ffi.WmssTorchH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/** ce_mix computed by libtorch's own ops and autograd (libwmss_torch), on every core: the framework reference. */
final class CeMixTorch implements CeMixBackend {
    @Override
    public String name() {
        return "libtorch";
    }

    @Override
    public boolean accepts(CeMixArgs args) {
        return !args.onDevice();
    }

    @Override
    public double run(CeMixArgs a) {
        requireAccepts(a);
        CeMixCpu.requireNativeHost(a);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment loss = a.rowLoss() != null ? a.rowLoss() : arena.allocate(Math.max(4, a.rows() * 4), 64);
            Status.check(WmssTorchH.wmss_torch_ce_mix_ref(a.toNative(arena, loss)), WmssTorch::lastError);
            return CeMixCpu.sum(loss, a.rows()) * a.effectiveInvNorm();
        }
    }
}
