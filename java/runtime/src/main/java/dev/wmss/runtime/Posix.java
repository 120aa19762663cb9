package dev.wmss.runtime;

import dev.wmss.kernels.ffi.Downcalls;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The process calls of the C library an application needs around the JVM: {@code _exit} (end now, with this status,
 * without atexit handlers or library destructors: OpenBLAS's can hang the JVM's exit for ever), Linux's
 * {@code prctl(PR_SET_PDEATHSIG)} (a signal when the parent dies) and {@code setenv} (a variable that native libraries
 * loaded later read at their start: System.getenv is the JVM's snapshot and cannot be set). Looked up in the process's
 * C library (no library of this project needed); where a call does not exist the methods say so instead of failing.
 */
public final class Posix {
    private static final int PR_SET_PDEATHSIG = 1;

    private Posix() {}

    private static final class exit_ {
        static final MethodHandle HANDLE = find("_exit", FunctionDescriptor.ofVoid(JAVA_INT));
    }

    private static final class prctl {
        // int prctl(int option, ...): the second argument is variadic (an unsigned long)
        static final MethodHandle HANDLE = find("prctl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG),
                Linker.Option.firstVariadicArg(1));
    }

    private static final class setenv {
        static final MethodHandle HANDLE = find("setenv", FunctionDescriptor.of(JAVA_INT,
                java.lang.foreign.ValueLayout.ADDRESS, java.lang.foreign.ValueLayout.ADDRESS, JAVA_INT));
    }

    /** Sets an environment variable of this process (overwriting), for native libraries that read it when they load. */
    public static boolean setenv(String name, String value) {
        if (Downcalls.TRACE) Downcalls.trace("setenv", name, value);
        if (setenv.HANDLE == null) return false;
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            return (int) setenv.HANDLE.invokeExact(arena.allocateFrom(name), arena.allocateFrom(value), 1) == 0;
        } catch (Throwable t) {
            throw new IllegalStateException("setenv failed", t);
        }
    }

    private static MethodHandle find(String name, FunctionDescriptor desc, Linker.Option... options) {
        Linker linker = Linker.nativeLinker();
        MemorySegment address = linker.defaultLookup().find(name).orElse(null);
        return address == null ? null : linker.downcallHandle(address, desc, options);
    }

    /** Whether {@link #exitNow} can end the process (a C library with {@code _exit}). */
    public static boolean canExitNow() {
        return exit_.HANDLE != null;
    }

    /**
     * Ends the process now with this status: no shutdown hooks, no atexit handlers, no library destructors. Flush what
     * must reach its file first. Returns only where {@code _exit} does not exist.
     */
    public static void exitNow(int status) {
        if (Downcalls.TRACE) Downcalls.trace("_exit", status);
        if (exit_.HANDLE == null) return;
        try {
            exit_.HANDLE.invokeExact(status);
        } catch (Throwable t) {
            throw new IllegalStateException("_exit failed", t);
        }
    }

    /**
     * Asks the kernel to send this process {@code signal} when the thread that started it ends (its parent's death).
     * Returns false where that cannot be asked (not Linux).
     */
    public static boolean setParentDeathSignal(int signal) {
        if (Downcalls.TRACE) Downcalls.trace("prctl", PR_SET_PDEATHSIG, signal);
        if (prctl.HANDLE == null || !System.getProperty("os.name", "").equals("Linux")) return false;
        try {
            return (int) prctl.HANDLE.invokeExact(PR_SET_PDEATHSIG, (long) signal) == 0;
        } catch (Throwable t) {
            throw new IllegalStateException("prctl failed", t);
        }
    }
}
