package dev.wmss.runtime;

import dev.wmss.kernels.Backend;
import dev.wmss.kernels.error.BackendUnavailableException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The same CPU arithmetic on any x86-64 with AVX2: what decides the rounding of a CPU run is fixed instead of chosen
 * for the machine. The kernels' ISA (avx2, not the widest the CPU has), OpenBLAS's kernels (its Haswell ones, not
 * those it would pick for this CPU: OPENBLAS_CORETYPE), libtorch's vectorised kernels (ATEN_CPU_CAPABILITY=avx2) and
 * the thread count of all three (2: partial sums split the same way everywhere). OpenBLAS and libtorch read their
 * variables when they load, so {@link #apply} must run before libwmss_torch is loaded in the process (it says so
 * when it is too late). Slower than the machine's best on wide CPUs; for results that must match across machines
 * (the demo's and the experiment's).
 */
public final class ReproducibleCpu {
    private ReproducibleCpu() {}

    public static final String ISA = "avx2", OPENBLAS_CORE = "Haswell", ATEN_CAPABILITY = "avx2";
    public static final int THREADS = 2;

    /** What the policy is, in words. */
    public static String describe() {
        return "kernels " + ISA + ", OpenBLAS " + OPENBLAS_CORE + ", libtorch " + ATEN_CAPABILITY + ", " + THREADS + " threads";
    }

    /**
     * Applies the policy to this process; returns what could not be applied (empty when all of it was). Throws when
     * the CPU lacks AVX2.
     */
    public static List<String> apply() {
        List<String> notes = new ArrayList<>();
        try {
            Backend.setCpuIsa(ISA);
        } catch (BackendUnavailableException e) {
            throw new IllegalStateException("reproducible arithmetic needs a CPU with AVX2, which this one lacks ("
                    + e.getMessage() + "): run without it (--no-reproducible)", e);
        }
        Backend.setThreads(THREADS);
        String loaded = loadedAlready();
        if (loaded != null) {
            notes.add(loaded + " was loaded before the policy could set its variables: its own choice of kernels stands");
        } else {
            Posix.setenv("OPENBLAS_CORETYPE", OPENBLAS_CORE);
            Posix.setenv("OPENBLAS_NUM_THREADS", String.valueOf(THREADS));
            Posix.setenv("ATEN_CPU_CAPABILITY", ATEN_CAPABILITY);
        }
        WmssTorch.setNumThreads(THREADS); // loads libwmss_torch (and libtorch, OpenBLAS) now, with the variables set
        String core = openBlasCore();
        if (core == null) notes.add("the BLAS libtorch uses is not OpenBLAS: its kernels are its own choice");
        else if (!core.toLowerCase(Locale.ROOT).contains(OPENBLAS_CORE.toLowerCase(Locale.ROOT))) {
            notes.add("OpenBLAS runs its " + core + " kernels, not " + OPENBLAS_CORE + "'s");
        }
        return notes;
    }

    /** The name of libtorch's or OpenBLAS's library when this process has mapped it already, else null. */
    static String loadedAlready() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/maps"))) {
                if (l.contains("libopenblas")) return "OpenBLAS";
                if (l.contains("libtorch_cpu")) return "libtorch";
            }
        } catch (IOException | RuntimeException unknown) {
            // not Linux: nothing to tell
        }
        return null;
    }

    /** OpenBLAS's name for the kernels it runs (openblas_get_corename), or null where the BLAS is not OpenBLAS. */
    public static String openBlasCore() {
        for (String lib : new String[]{"libopenblas.so.0", "libopenblas.so"}) {
            try {
                SymbolLookup l = SymbolLookup.libraryLookup(lib, Arena.global());
                MemorySegment f = l.find("openblas_get_corename").orElse(null);
                if (f == null) continue;
                MemorySegment name = (MemorySegment) Linker.nativeLinker().downcallHandle(f,
                        FunctionDescriptor.of(ValueLayout.ADDRESS)).invokeExact();
                return name.reinterpret(64).getString(0);
            } catch (Throwable absent) {
                // not this name
            }
        }
        return null;
    }
}
