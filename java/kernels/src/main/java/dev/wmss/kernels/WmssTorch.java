package dev.wmss.kernels;

import dev.wmss.kernels.ffi.NativeLoader;
import dev.wmss.kernels.ffi.WmssTorchH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

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

    /** libtorch's intra-op threads in this library's calls; 0 restores the default policy (see wmss_torch.h). */
    public static void setNumThreads(int n) {
        Status.check(WmssTorchH.wmss_torch_set_num_threads(n), WmssTorch::lastError);
    }

    /** The intra-op thread count in use. */
    public static int numThreads() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(4, 4);
            Status.check(WmssTorchH.wmss_torch_num_threads(n, MemorySegment.NULL), WmssTorch::lastError);
            return n.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** Whether OpenMP workers wait passively (so libtorch may use every core next to OpenBLAS). */
    public static boolean passiveWait() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(4, 4);
            Status.check(WmssTorchH.wmss_torch_num_threads(MemorySegment.NULL, p), WmssTorch::lastError);
            return p.get(ValueLayout.JAVA_INT, 0) != 0;
        }
    }


    /**
     * The decoder's fused ops (RMSNorm, rotary embeddings, SwiGLU, scaled masked softmax, grouped-query attention
     * without repeated k and v): on by default; false switches every model to libtorch's composite ops (the reference).
     */
    public static void setFusedOps(boolean on) {
        Status.check(WmssTorchH.wmss_torch_set_fused_ops(on ? 1 : 0), WmssTorch::lastError);
    }

    /**
     * The caching CPU allocator libwmss_torch installs into libtorch: {cached free bytes, limit, hits, misses}
     * (see wmss_torch.h; WMSS_TORCH_CACHE_MB sets the limit, 0 turns the cache off).
     */
    public static long[] cacheStats() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(32, 8);
            Status.check(WmssTorchH.wmss_torch_cache_stats(out), WmssTorch::lastError);
            return out.toArray(ValueLayout.JAVA_LONG);
        }
    }

    /** Returns every cached free block to the system. */
    public static void emptyCache() {
        Status.check(WmssTorchH.wmss_torch_cache_empty(), WmssTorch::lastError);
    }
}
