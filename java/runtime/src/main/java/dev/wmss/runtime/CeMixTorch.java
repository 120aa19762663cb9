package dev.wmss.runtime;

import dev.wmss.kernels.CeMixArgs;
import dev.wmss.kernels.CeMixBackend;
import dev.wmss.runtime.ffi.WmssTorchH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ce_mix computed by libtorch's own ops and autograd (libwmss_torch), on every core: the framework reference,
 * "libtorch" among {@link dev.wmss.kernels.KernelBackends}' ce_mix backends (a {@link java.util.ServiceLoader}
 * provider of {@link CeMixBackend}).
 */
public final class CeMixTorch implements CeMixBackend {
    /** For the service loader; get it as {@code KernelBackends.ceMix("libtorch")}. */
    public CeMixTorch() {}

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
        a.requireNativeHost();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment loss = a.rowLoss() != null ? a.rowLoss() : arena.allocate(Math.max(4, a.rows() * 4), 64);
            WmssTorch.check(WmssTorchH.wmss_torch_ce_mix_ref(a.toNative(arena, loss)));
            double sum = 0;
            for (long r = 0; r < a.rows(); r++) sum += loss.getAtIndex(ValueLayout.JAVA_FLOAT, r);
            return sum * a.effectiveInvNorm();
        }
    }
}
