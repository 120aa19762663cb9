package dev.wmss.kernels;

import dev.wmss.kernels.error.BackendUnavailableException;
import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.NativeLibraryException;
import dev.wmss.kernels.error.Status;
import dev.wmss.kernels.ffi.NativeLoader;
import dev.wmss.kernels.ffi.WmssH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Which backend runs the kernels, probed once and logged once: CUDA when the library was built with it and a
 * device is present, else the CPU (host memory always runs on the CPU kernels; {@link DeviceMemory} on the GPU).
 * {@code -Dwmss.backend=auto|cpu|cuda} (or WMSS_BACKEND) forces one; asking for CUDA where it cannot run fails
 * with {@link BackendUnavailableException} naming the driver's reason.
 */
public final class Backend {
    public enum Kind { CPU, CUDA }

    /** The WMSS_ABI_VERSION of wmss.h these bindings were generated from (checked against the library at load). */
    public static final int ABI_VERSION = 3;

    private static final System.Logger LOG = System.getLogger("dev.wmss.kernels");
    private static volatile Backend current;

    private final Kind kind;
    private final String cpuIsa;
    private final int cudaDevices;
    private final String cudaStatus;

    private Backend(Kind kind, String cpuIsa, int cudaDevices, String cudaStatus) {
        this.kind = kind;
        this.cpuIsa = cpuIsa;
        this.cudaDevices = cudaDevices;
        this.cudaStatus = cudaStatus;
    }

    /** The backend in use; the first call probes the machine and logs the choice. */
    public static Backend current() {
        Backend b = current;
        if (b == null) {
            synchronized (Backend.class) {
                if ((b = current) == null) current = b = probe();
            }
        }
        return b;
    }

    private static Backend probe() {
        int abi = WmssH.wmss_abi_version();
        if (abi != ABI_VERSION) {
            throw new NativeLibraryException("libwmss has ABI version " + abi + ", these bindings need " + ABI_VERSION);
        }
        String isa = NativeLoader.cString(WmssH.wmss_cpu_isa());
        String forced = System.getenv("WMSS_CPU_ISA");
        if (forced != null && !forced.isBlank() && !forced.equals("auto") && !forced.equals(isa)) {
            LOG.log(System.Logger.Level.WARNING, "wmss: WMSS_CPU_ISA=" + forced + " is unknown or not supported by"
                    + " this CPU; using " + isa + " (avx512bf16, avx512, avx2, sse2 or auto)");
        }
        int devices = 0;
        String cuda;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(ValueLayout.JAVA_INT);
            int st = WmssH.wmss_cuda_device_count(count);
            devices = st == 0 ? count.get(ValueLayout.JAVA_INT, 0) : 0;
            cuda = st == 0 ? devices + " device(s)" : lastError();
        }
        if (devices > 0) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment name = arena.allocate(256);
                if (WmssH.wmss_cuda_device_name(name, 256) == 0) cuda = devices + " device(s), " + name.getString(0);
            }
        }
        String wanted = setting();
        Kind kind;
        switch (wanted) {
            case "cpu" -> kind = Kind.CPU;
            case "cuda" -> {
                if (devices == 0) {
                    throw new BackendUnavailableException(Status.NO_DEVICE, "wmss.backend=cuda was requested but"
                            + " cannot run: " + cuda + ". Use -Dwmss.backend=cpu or auto.");
                }
                kind = Kind.CUDA;
            }
            case "auto" -> {
                kind = devices > 0 ? Kind.CUDA : Kind.CPU;
                if (devices == 0) LOG.log(System.Logger.Level.DEBUG, "wmss: CUDA not used: " + cuda);
            }
            default -> throw new InvalidArgumentException(Status.ARGUMENT,
                    "wmss.backend=" + wanted + " is not one of auto, cpu, cuda");
        }
        Backend b = new Backend(kind, isa, devices, cuda);
        LOG.log(System.Logger.Level.DEBUG, "wmss: " + b); // a library is quiet unless asked (Backend.current() says it)
        return b;
    }

    private static String setting() {
        String v = System.getProperty("wmss.backend");
        if (v == null || v.isBlank()) v = System.getenv("WMSS_BACKEND");
        return v == null || v.isBlank() ? "auto" : v.trim().toLowerCase(java.util.Locale.ROOT);
    }

    public Kind kind() {
        return kind;
    }

    /** The CPU kernel variant in use: avx512bf16, avx512, avx2 or sse2. */
    public String cpuIsa() {
        return cpuIsa;
    }

    public int cudaDevices() {
        return cudaDevices;
    }

    /** True if CUDA kernels can run here (built in, a device present, not forced off). */
    public boolean cudaUsable() {
        return kind == Kind.CUDA;
    }

    /** "N device(s)" or why CUDA is not available. */
    public String cudaStatus() {
        return cudaStatus;
    }

    public int threads() {
        return WmssH.wmss_num_threads();
    }

    /** Sets the number of CPU kernel threads (0 = one per core). */
    public static void setThreads(int n) {
        Status.check(WmssH.wmss_set_num_threads(n), Backend::lastError);
    }

    /** Forces a CPU variant ("avx512bf16", "avx512", "avx2", "sse2" or "auto"), e.g. to test or benchmark each. */
    public static void setCpuIsa(String isa) {
        try (Arena arena = Arena.ofConfined()) {
            Status.check(WmssH.wmss_cpu_set_isa(arena.allocateFrom(isa)), Backend::lastError);
        }
        synchronized (Backend.class) {
            current = null;
        }
    }

    public static String buildInfo() {
        return NativeLoader.cString(WmssH.wmss_build_info());
    }

    /** Where the native libraries in use are (extracted from a wmss-natives jar, or -Dwmss.library.path). */
    public static java.nio.file.Path libraryDirectory() {
        return NativeLoader.libraryDirectory();
    }

    /** The natives' flavour in use: "cpu" or "cuda" (a wmss-natives jar), "local" (-Dwmss.library.path). */
    public static String nativesFlavour() {
        return NativeLoader.flavour();
    }

    /** The calling thread's last native error message. */
    public static String lastError() {
        return NativeLoader.cString(WmssH.wmss_last_error());
    }


    @Override
    public String toString() {
        return "backend " + kind.name().toLowerCase(java.util.Locale.ROOT) + " (natives " + nativesFlavour() + "; cpu "
                + cpuIsa + ", " + threads() + " threads; cuda: " + cudaStatus + ")";
    }
}
