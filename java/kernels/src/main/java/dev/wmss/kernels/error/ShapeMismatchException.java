package dev.wmss.kernels.error;

/** Sizes, strides or buffer lengths that do not fit together. */
public final class ShapeMismatchException extends WmssException {
    public ShapeMismatchException(Status status, String message) {
        super(status, message);
    }
}
