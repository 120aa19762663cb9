package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.ShapeMismatchException;
import dev.wmss.kernels.error.Status;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A row-major [rows, vocab] matrix of logits (or their gradients) with a row stride in elements
 * ({@code rowStride >= vocab}). Where the memory lives is part of the type: {@link Host} logits can be read and
 * written from Java and run on the CPU kernels; {@link Device} logits are CUDA memory (from {@link DeviceMemory} or
 * any other CUDA allocator: the pointer is checked with {@code cudaPointerGetAttributes}) and run on the GPU. The
 * constructors check that the segment is large enough, so the native side never reads or writes outside it.
 */
public sealed interface Logits permits Logits.Host, Logits.Device {
    MemorySegment data();

    DType dtype();

    long rows();

    long vocab();

    long rowStride();

    /** Host memory: a native (off-heap) segment, or a heap segment for the plain-Java reference only. */
    record Host(MemorySegment data, DType dtype, long rows, long vocab, long rowStride) implements Logits {
        private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
        private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED;

        public Host {
            checkShape(data, dtype, rows, vocab, rowStride);
            // get/set/fill would fault on CUDA memory: checked through CUDA itself, only where CUDA is in use
            if (rows > 0 && data.isNative() && Backend.current().cudaUsable()
                    && DeviceMemory.kindOf(data) == DeviceMemory.Kind.DEVICE) {
                throw new InvalidArgumentException(Status.ARGUMENT, "host logits over CUDA device memory at 0x"
                        + Long.toHexString(data.address()) + ": use Logits.onDevice");
            }
        }

        public long offset(long row, long col) {
            return (row * rowStride + col) * dtype.bytes();
        }

        public float get(long row, long col) {
            return dtype == DType.F32 ? data.get(F32, offset(row, col)) : Bf16.toFloat(data.get(BF16, offset(row, col)));
        }

        /** Stores {@code v} (rounded to nearest even for bf16). */
        public void set(long row, long col, float v) {
            if (dtype == DType.F32) data.set(F32, offset(row, col), v);
            else data.set(BF16, offset(row, col), Bf16.fromFloat(v));
        }

        /** Fills every element (stride padding included) with {@code v}, e.g. NaN as poison. */
        public void fill(float v) {
            if (dtype == DType.F32) {
                for (long i = 0; i + 4 <= data.byteSize(); i += 4) data.set(F32, i, v);
            } else {
                short b = Bf16.fromFloat(v);
                for (long i = 0; i + 2 <= data.byteSize(); i += 2) data.set(BF16, i, b);
            }
        }
    }

    /** CUDA device (or managed) memory: pass it to the kernels, never read it from Java. */
    record Device(MemorySegment data, DType dtype, long rows, long vocab, long rowStride) implements Logits {
        public Device {
            checkShape(data, dtype, rows, vocab, rowStride);
            if (rows > 0) DeviceMemory.requireDevice(data, "device logits");
        }
    }

    static Host of(MemorySegment data, DType dtype, long rows, long vocab) {
        return new Host(data, dtype, rows, vocab, vocab);
    }

    static Host of(MemorySegment data, DType dtype, long rows, long vocab, long rowStride) {
        return new Host(data, dtype, rows, vocab, rowStride);
    }

    /** Fresh zeroed native memory owned by {@code arena}, 64-byte aligned. */
    static Host allocate(Arena arena, DType dtype, long rows, long vocab) {
        return of(arena.allocate(Math.max(1, bytes(dtype, rows, vocab, vocab)), 64), dtype, rows, vocab);
    }

    /** Logits in CUDA memory: a pointer from any CUDA allocator, wrapped as a segment of the right size. */
    static Device onDevice(MemorySegment data, DType dtype, long rows, long vocab, long rowStride) {
        return new Device(data, dtype, rows, vocab, rowStride);
    }

    static Device onDevice(DeviceMemory memory, DType dtype, long rows, long vocab) {
        return new Device(memory.segment(), dtype, rows, vocab, vocab);
    }

    /** True for {@link Device} logits. */
    default boolean onDevice() {
        return this instanceof Device;
    }

    /** Same rows, vocab and dtype. */
    default boolean sameShape(Logits o) {
        return rows() == o.rows() && vocab() == o.vocab() && dtype() == o.dtype();
    }

    default String describe() {
        return "[" + rows() + ", " + vocab() + "] " + dtype() + (onDevice() ? " on the device" : "");
    }

    private static void checkShape(MemorySegment data, DType dtype, long rows, long vocab, long rowStride) {
        if (data == null) throw new InvalidArgumentException(Status.NULL_POINTER, "data and dtype are required");
        long need = bytes(dtype, rows, vocab, rowStride);
        if (data.byteSize() < need) {
            throw new ShapeMismatchException(Status.SHAPE, "logits [" + rows + ", " + vocab + "] (row stride "
                    + rowStride + ", " + dtype + ") need " + need + " bytes; the segment has " + data.byteSize());
        }
    }

    /** The bytes a [rows, vocab] matrix with this row stride spans, or a typed error for a shape that cannot be. */
    private static long bytes(DType dtype, long rows, long vocab, long rowStride) {
        if (dtype == null) throw new InvalidArgumentException(Status.NULL_POINTER, "data and dtype are required");
        if (rows < 0 || vocab < 1 || rowStride < vocab) {
            throw new ShapeMismatchException(Status.SHAPE, "logits shape rows=" + rows + ", vocab=" + vocab
                    + ", rowStride=" + rowStride + " (need rows >= 0, vocab >= 1, rowStride >= vocab)");
        }
        try {
            return rows == 0 ? 0 : Math.multiplyExact(Math.addExact(Math.multiplyExact(rows - 1, rowStride), vocab), dtype.bytes());
        } catch (ArithmeticException e) {
            throw new ShapeMismatchException(Status.SHAPE, "logits [" + rows + ", " + vocab + "] (row stride " + rowStride
                    + ", " + dtype + ") span more bytes than a long holds");
        }
    }
}
