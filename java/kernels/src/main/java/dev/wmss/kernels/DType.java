package dev.wmss.kernels;

/** Storage type of logits and gradients. Arithmetic is always fp32 (row sums in double). */
public enum DType {
    F32(0, 4), BF16(1, 2);

    private final int code;
    private final int bytes;

    DType(int code, int bytes) {
        this.code = code;
        this.bytes = bytes;
    }

    /** The {@code wmss_dtype} value. */
    public int code() {
        return code;
    }

    public int bytes() {
        return bytes;
    }
}
