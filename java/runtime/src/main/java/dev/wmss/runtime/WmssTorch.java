package dev.wmss.runtime;

import dev.wmss.kernels.DType;
import dev.wmss.kernels.error.Status;
import dev.wmss.kernels.ffi.NativeLoader;
import dev.wmss.runtime.ffi.WmssTorchH;

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

    /**
     * A native status of wmss_torch.h as its exception ({@link Status#check}), with the calling thread's last error
     * as the message; {@code WMSS_TORCH_ERR_DIST} ({@link Status#DISTRIBUTED}) is a {@link DistributedException}.
     */
    static void check(int status) {
        if (status == DistributedException.NATIVE_CODE) throw new DistributedException(lastError());
        Status.check(status, WmssTorch::lastError);
    }

    /** libtorch's intra-op threads in this library's calls; 0 restores the default policy (see wmss_torch.h). */
    public static void setNumThreads(int n) {
        check(WmssTorchH.wmss_torch_set_num_threads(n));
    }

    /** The intra-op thread count in use. */
    public static int numThreads() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(4, 4);
            check(WmssTorchH.wmss_torch_num_threads(n, MemorySegment.NULL));
            return n.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** Whether OpenMP workers wait passively (so libtorch may use every core next to OpenBLAS). */
    public static boolean passiveWait() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(4, 4);
            check(WmssTorchH.wmss_torch_num_threads(MemorySegment.NULL, p));
            return p.get(ValueLayout.JAVA_INT, 0) != 0;
        }
    }


    /**
     * The decoder's fused ops (RMSNorm, rotary embeddings, SwiGLU, scaled masked softmax, grouped-query attention
     * without repeated k and v): on by default; false switches every model to libtorch's composite ops (the reference).
     */
    public static void setFusedOps(boolean on) {
        check(WmssTorchH.wmss_torch_set_fused_ops(on ? 1 : 0));
    }

    /**
     * The caching CPU allocator libwmss_torch installs into libtorch: {cached free bytes, limit, hits, misses}
     * (see wmss_torch.h; WMSS_TORCH_CACHE_MB sets the limit, 0 turns the cache off).
     */
    public static long[] cacheStats() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(32, 8);
            check(WmssTorchH.wmss_torch_cache_stats(out));
            return out.toArray(ValueLayout.JAVA_LONG);
        }
    }

    /** Returns every cached free block to the system. */
    public static void emptyCache() {
        check(WmssTorchH.wmss_torch_cache_empty());
    }

    /**
     * How this libwmss_torch was built: flavour (cpu|cuda), libtorch, fused_attention, fused_adamw, gloo, nccl, as
     * an ordered map of the native "key=value" lines.
     */
    public static java.util.Map<String, String> buildInfo() {
        java.util.Map<String, String> out = new java.util.LinkedHashMap<>();
        for (String line : NativeLoader.cString(WmssTorchH.wmss_torch_build_info()).split("\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) out.put(line.substring(0, eq), line.substring(eq + 1));
        }
        return out;
    }

    /** CUDA devices this process can use through libtorch (0 for a CPU build, or without a driver or device). */
    public static int cudaDeviceCount() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment n = arena.allocate(4, 4);
            check(WmssTorchH.wmss_torch_cuda_device_count(n));
            return n.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** The default device: "cuda:0" where this build has CUDA and a device is visible, else "cpu". */
    public static String defaultDevice() {
        return cudaDeviceCount() > 0 ? "cuda:0" : "cpu";
    }

    /**
     * Memory of a device ("cpu", "cuda:N") in bytes: {in use, peak in use since the last reset, held by the caching
     * allocator, total}; on the CPU {resident, peak resident, cached free blocks, physical memory}. resetPeak starts
     * a new peak after reading (CUDA).
     */
    public static long[] deviceMemory(String device, boolean resetPeak) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(32, 8);
            check(WmssTorchH.wmss_torch_device_memory(arena.allocateFrom(device), resetPeak ? 1 : 0, out));
            return out.toArray(ValueLayout.JAVA_LONG);
        }
    }

    /** Waits for the device's queued work (a no-op for "cpu"): for timing. */
    public static void synchronize(String device) {
        try (Arena arena = Arena.ofConfined()) {
            check(WmssTorchH.wmss_torch_device_synchronize(arena.allocateFrom(device)));
        }
    }

    /** The matrix-product rate (FLOP/s) of a device in a precision (F32 or BF16), measured now on random data. */
    public static double matmulPeak(String device, DType precision) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment f = arena.allocate(ValueLayout.JAVA_DOUBLE);
            check(WmssTorchH.wmss_torch_matmul_peak(arena.allocateFrom(device), precision.code(), f));
            return f.get(ValueLayout.JAVA_DOUBLE, 0);
        }
    }
}
