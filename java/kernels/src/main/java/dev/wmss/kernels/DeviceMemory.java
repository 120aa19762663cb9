package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.ShapeMismatchException;
import dev.wmss.kernels.error.Status;
import dev.wmss.kernels.ffi.WmssH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * CUDA device memory owned by Java (cudaMalloc / cudaFree), for callers without their own allocator. Its
 * {@link #segment()} carries the device address and size for the wmss calls; it must never be read or written
 * from Java (that would touch an address the CPU cannot use).
 */
public final class DeviceMemory implements AutoCloseable {
    /** Where a pointer lives, as {@code wmss_cuda_pointer_kind} reports it. */
    public enum Kind { HOST, DEVICE, MANAGED }

    private final MemorySegment segment;
    private boolean closed;

    private DeviceMemory(MemorySegment segment) {
        this.segment = segment;
    }

    public static DeviceMemory allocate(long bytes) {
        if (bytes < 0) throw new ShapeMismatchException(Status.SHAPE, "negative size " + bytes);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            Status.check(WmssH.wmss_cuda_malloc(out, bytes), Backend::lastError);
            return new DeviceMemory(out.get(ValueLayout.ADDRESS, 0).reinterpret(bytes));
        }
    }

    /** A device copy of {@code host}. */
    public static DeviceMemory copyOf(MemorySegment host) {
        DeviceMemory d = allocate(host.byteSize());
        d.copyFrom(host);
        return d;
    }

    /** Where {@code s} lives according to CUDA (HOST when CUDA is not built in or has no device). */
    public static Kind kindOf(MemorySegment s) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment kind = arena.allocate(ValueLayout.JAVA_INT);
            Status.check(WmssH.wmss_cuda_pointer_kind(s, kind), Backend::lastError);
            return Kind.values()[kind.get(ValueLayout.JAVA_INT, 0)];
        }
    }

    /** Throws unless CUDA calls {@code s} device or managed memory. */
    static void requireDevice(MemorySegment s, String what) {
        if (kindOf(s) == Kind.HOST) {
            throw new InvalidArgumentException(Status.ARGUMENT, what + " at 0x" + Long.toHexString(s.address())
                    + " is not CUDA memory (cudaPointerGetAttributes: host; CUDA: " + Backend.current().cudaStatus() + ")");
        }
    }

    /** The device address as a segment of the right size: pass it to wmss calls, never dereference it. */
    public MemorySegment segment() {
        if (closed) throw new IllegalStateException("device memory already freed");
        return segment;
    }

    public long byteSize() {
        return segment.byteSize();
    }

    public void copyFrom(MemorySegment host) {
        requireHost(host, segment.byteSize());
        Status.check(WmssH.wmss_cuda_memcpy(segment(), host, segment.byteSize()), Backend::lastError);
    }

    public void copyTo(MemorySegment host) {
        requireHost(host, segment.byteSize());
        Status.check(WmssH.wmss_cuda_memcpy(host, segment(), segment.byteSize()), Backend::lastError);
    }

    public void fill(int byteValue) {
        Status.check(WmssH.wmss_cuda_memset(segment(), byteValue, segment.byteSize()), Backend::lastError);
    }

    private static void requireHost(MemorySegment host, long bytes) {
        if (!host.isNative() || kindOf(host) != Kind.HOST) {
            throw new InvalidArgumentException(Status.ARGUMENT, "copies need a native host segment");
        }
        if (host.byteSize() < bytes) {
            throw new ShapeMismatchException(Status.SHAPE, "host segment has " + host.byteSize() + " bytes, needs " + bytes);
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        Status.check(WmssH.wmss_cuda_free(segment), Backend::lastError);
    }
}
