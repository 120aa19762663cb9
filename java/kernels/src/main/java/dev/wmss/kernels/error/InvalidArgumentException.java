package dev.wmss.kernels.error;

/** A bad argument: null or misaligned buffer, overlapping outputs, lambda outside [0,1], ... */
public final class InvalidArgumentException extends WmssException {
    public InvalidArgumentException(Status status, String message) {
        super(status, message);
    }
}
