package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.ShapeMismatchException;
import dev.wmss.kernels.error.Status;
import dev.wmss.kernels.ffi.WmssDevH;

import java.lang.foreign.MemorySegment;

/** Multi-threaded memcpy ({@code wmss_copy}): the memory-roofline reference for the kernel benchmarks. */
public final class ParallelCopy {
    private ParallelCopy() {}

    /** Copies all of {@code src} into the start of {@code dst}; both native, non-overlapping. */
    public static void copy(MemorySegment dst, MemorySegment src) {
        if (dst.byteSize() < src.byteSize()) {
            throw new ShapeMismatchException(Status.SHAPE, "copy of " + src.byteSize() + " bytes into a segment of "
                    + dst.byteSize());
        }
        if (!dst.isNative() || !src.isNative()) {
            throw new InvalidArgumentException(Status.ARGUMENT, "ParallelCopy needs native segments");
        }
        Status.check(WmssDevH.wmss_copy(dst, src, src.byteSize()), Backend::lastError);
    }
}
