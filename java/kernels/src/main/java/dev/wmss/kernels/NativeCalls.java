package dev.wmss.kernels;

import dev.wmss.kernels.ffi.NativeTime;

/**
 * Time spent inside the native calls of wmss (kernels and model runtime alike), for telling Java's own share of
 * a step from the native work it orchestrates. Off unless the JVM runs with {@code -Dwmss.time=true}; then every
 * downcall adds its duration (two nanoTime reads per call).
 */
public final class NativeCalls {
    private NativeCalls() {}

    /** Whether native time is being measured ({@code -Dwmss.time=true}). */
    public static boolean timed() {
        return NativeTime.ENABLED;
    }

    /** Nanoseconds spent in native calls so far (0 unless {@link #timed()}). */
    public static long nanos() {
        return NativeTime.nanos();
    }

    /** Native calls made so far (0 unless {@link #timed()}). */
    public static long count() {
        return NativeTime.calls();
    }
}
