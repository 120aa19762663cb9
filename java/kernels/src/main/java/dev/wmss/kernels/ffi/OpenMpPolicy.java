package dev.wmss.kernels.ffi;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Sets {@code OMP_WAIT_POLICY=PASSIVE} in the process environment (libc setenv) before the native libraries load,
 * unless it is already set or {@code -Dwmss.omp.passive=false}. libgomp reads it once, when it is loaded (as a
 * dependency of libwmss and libtorch): passive OpenMP workers sleep between parallel regions instead of spinning on
 * the cores that OpenBLAS's threads need for every matrix product. libwmss_torch then gives libtorch's intra-op pool
 * every core (see wmss_torch_set_num_threads); with spinning workers it would use one.
 */
final class OpenMpPolicy {
    private static boolean applied;

    private OpenMpPolicy() {}

    static synchronized void apply() {
        if (applied) return;
        applied = true;
        if (System.getenv("OMP_WAIT_POLICY") != null || !Boolean.parseBoolean(System.getProperty("wmss.omp.passive", "true"))) {
            return;
        }
        Linker linker = Linker.nativeLinker();
        MemorySegment setenv = linker.defaultLookup().find("setenv").orElse(null);
        if (setenv == null) return; // not a POSIX libc: nothing to do
        MethodHandle h = linker.downcallHandle(setenv, FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
        try (Arena arena = Arena.ofConfined()) {
            int rc = (int) h.invokeExact(arena.allocateFrom("OMP_WAIT_POLICY"), arena.allocateFrom("PASSIVE"), 0);
            if (rc != 0) System.err.println("wmss: could not set OMP_WAIT_POLICY=PASSIVE (setenv returned " + rc + ")");
        } catch (Throwable t) {
            throw new IllegalStateException("setenv failed", t);
        }
    }
}
