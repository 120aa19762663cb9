package dev.wmss.kernels.error;

/** Native memory could not be allocated. */
public final class NativeOutOfMemoryException extends WmssException {
    public NativeOutOfMemoryException(Status status, String message) {
        super(status, message);
    }
}
