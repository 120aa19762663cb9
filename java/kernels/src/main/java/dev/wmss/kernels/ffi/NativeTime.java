package dev.wmss.kernels.ffi;

import java.util.concurrent.atomic.LongAdder;

/**
 * Time spent inside native calls, for telling Java's own share of a step from the native work it orchestrates:
 * with {@code -Dwmss.time=true} every downcall of the binding classes adds its duration here (two nanoTime reads per
 * call); off by default, when the check folds away.
 */
public final class NativeTime {
    /** {@code -Dwmss.time=true}. */
    public static final boolean ENABLED = Boolean.getBoolean("wmss.time");
    private static final LongAdder NANOS = new LongAdder();
    private static final LongAdder CALLS = new LongAdder();

    private NativeTime() {}

    /** Called by the generated bindings after each downcall that started at {@code t0}. */
    public static void add(long t0) {
        NANOS.add(System.nanoTime() - t0);
        CALLS.increment();
    }

    /** Nanoseconds spent in native calls so far (0 unless enabled). */
    public static long nanos() {
        return NANOS.sum();
    }

    /** Native calls made so far (0 unless enabled). */
    public static long calls() {
        return CALLS.sum();
    }
}
