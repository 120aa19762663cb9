package dev.wmss.kernels;

import dev.wmss.kernels.ffi.NativeLoader;
import dev.wmss.kernels.ffi.WmssTorchH;

/** Facts about libwmss_torch, the libtorch layer (loaded on first use). */
public final class WmssTorch {
    private WmssTorch() {}

    /** libtorch's version, e.g. "1.13.1". */
    public static String version() {
        return NativeLoader.cString(WmssTorchH.wmss_torch_version());
    }

    public static String lastError() {
        return NativeLoader.cString(WmssTorchH.wmss_torch_last_error());
    }

}
