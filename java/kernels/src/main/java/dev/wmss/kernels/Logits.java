package dev.wmss.kernels;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A row-major [rows, vocab] matrix of logits (or their gradients) in a {@link MemorySegment}, with a row stride
 * in elements ({@code rowStride >= vocab}). The constructor checks that the segment is large enough, so the
 * native side never reads or writes outside it. {@code device} says the data is CUDA memory (decided once, from
 * {@link DeviceMemory}); such logits cannot be read from Java.
 */
public record Logits(MemorySegment data, DType dtype, long rows, long vocab, long rowStride, boolean device) {
    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ValueLayout.OfShort BF16 = ValueLayout.JAVA_SHORT_UNALIGNED;

    public Logits {
        if (data == null || dtype == null) throw new InvalidArgumentException(Status.NULL_POINTER, "data and dtype are required");
        if (rows < 0 || vocab < 1 || rowStride < vocab) {
            throw new ShapeMismatchException(Status.SHAPE, "logits shape rows=" + rows + ", vocab=" + vocab
                    + ", rowStride=" + rowStride + " (need rows >= 0, vocab >= 1, rowStride >= vocab)");
        }
        long need = requiredBytes(dtype, rows, vocab, rowStride);
        if (data.byteSize() < need) {
            throw new ShapeMismatchException(Status.SHAPE, "logits [" + rows + ", " + vocab + "] (row stride "
                    + rowStride + ", " + dtype + ") need " + need + " bytes; the segment has " + data.byteSize());
        }
    }

    public Logits(MemorySegment data, DType dtype, long rows, long vocab, long rowStride) {
        this(data, dtype, rows, vocab, rowStride, DeviceMemory.isDevice(data));
    }

    public static Logits of(MemorySegment data, DType dtype, long rows, long vocab) {
        return new Logits(data, dtype, rows, vocab, vocab);
    }

    /** Fresh zeroed native memory owned by {@code arena}, 64-byte aligned. */
    public static Logits allocate(Arena arena, DType dtype, long rows, long vocab) {
        return of(arena.allocate(Math.max(1, rows * vocab * dtype.bytes()), 64), dtype, rows, vocab);
    }

    static long requiredBytes(DType dtype, long rows, long vocab, long rowStride) {
        if (rows == 0) return 0;
        return Math.addExact(Math.multiplyExact(rows - 1, rowStride), vocab) * dtype.bytes();
    }

    public long offset(long row, long col) {
        return (row * rowStride + col) * dtype.bytes();
    }

    public float get(long row, long col) {
        requireHost();
        return dtype == DType.F32 ? data.get(F32, offset(row, col)) : Bf16.toFloat(data.get(BF16, offset(row, col)));
    }

    /** Stores {@code v} (rounded to nearest even for bf16). */
    public void set(long row, long col, float v) {
        requireHost();
        if (dtype == DType.F32) data.set(F32, offset(row, col), v);
        else data.set(BF16, offset(row, col), Bf16.fromFloat(v));
    }

    /** Fills every element (including stride padding) with the given bit pattern's value, e.g. NaN as poison. */
    public void fill(float v) {
        requireHost();
        if (dtype == DType.F32) {
            for (long i = 0; i + 4 <= data.byteSize(); i += 4) data.set(F32, i, v);
        } else {
            short b = Bf16.fromFloat(v);
            for (long i = 0; i + 2 <= data.byteSize(); i += 2) data.set(BF16, i, b);
        }
    }

    /** Logits in CUDA device memory (from {@link DeviceMemory} or another CUDA allocator's pointer). */
    public static Logits onDevice(DeviceMemory memory, DType dtype, long rows, long vocab) {
        return of(memory.segment(), dtype, rows, vocab);
    }

    /** True if the data lives in {@link DeviceMemory}: then it cannot be read from Java. */
    public boolean onDevice() {
        return device;
    }

    private void requireHost() {
        if (device) throw new InvalidArgumentException(Status.ARGUMENT, "these logits are in CUDA device memory");
    }

    boolean sameShape(Logits o) {
        return rows == o.rows && vocab == o.vocab && dtype == o.dtype;
    }

    String describe() {
        return "[" + rows + ", " + vocab + "] " + dtype;
    }
}
