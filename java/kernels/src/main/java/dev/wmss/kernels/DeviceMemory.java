package dev.wmss.kernels;

import dev.wmss.kernels.ffi.WmssH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * CUDA device memory owned by Java (cudaMalloc / cudaFree), for callers without their own allocator. Its
 * {@link #segment()} carries the device address and size for the wmss calls; it must never be read or written
 * from Java (that would touch an address the CPU cannot use), so the host variants reject it.
 */
public final class DeviceMemory implements AutoCloseable {
    private static final ConcurrentSkipListMap<Long, Long> LIVE = new ConcurrentSkipListMap<>();
    /** Live allocations; 0 on a CPU-only run, so isDevice costs one load there (Logits.get calls it). */
    private static volatile int liveCount;
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
            MemorySegment p = out.get(ValueLayout.ADDRESS, 0).reinterpret(bytes);
            synchronized (LIVE) {
                LIVE.put(p.address(), bytes);
                liveCount = LIVE.size();
            }
            return new DeviceMemory(p);
        }
    }

    /** A device copy of {@code host}. */
    public static DeviceMemory copyOf(MemorySegment host) {
        DeviceMemory d = allocate(host.byteSize());
        d.copyFrom(host);
        return d;
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

    /** True if {@code s} lies in device memory allocated here. */
    public static boolean isDevice(MemorySegment s) {
        if (liveCount == 0 || s == null || s.byteSize() == 0 && s.address() == 0) return false;
        Map.Entry<Long, Long> e = LIVE.floorEntry(s.address());
        return e != null && s.address() < e.getKey() + Math.max(1, e.getValue());
    }

    private static void requireHost(MemorySegment host, long bytes) {
        if (!host.isNative() || isDevice(host)) {
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
        synchronized (LIVE) {
            LIVE.remove(segment.address());
            liveCount = LIVE.size();
        }
        Status.check(WmssH.wmss_cuda_free(segment), Backend::lastError);
    }
}
