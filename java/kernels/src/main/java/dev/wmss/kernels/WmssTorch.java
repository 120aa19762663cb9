package dev.wmss.kernels;

import dev.wmss.kernels.ffi.WmssTorchH;

import java.lang.foreign.MemorySegment;

/** Facts about libwmss_torch, the libtorch layer (loaded on first use). */
public final class WmssTorch {
    private WmssTorch() {}

    /** libtorch's version, e.g. "1.13.1". */
    public static String version() {
        return str(WmssTorchH.wmss_torch_version());
    }

    public static String lastError() {
        return str(WmssTorchH.wmss_torch_last_error());
    }

    private static String str(MemorySegment s) {
        return s.equals(MemorySegment.NULL) ? "" : s.reinterpret(Long.MAX_VALUE).getString(0);
    }
}
