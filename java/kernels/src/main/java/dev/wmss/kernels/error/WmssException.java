package dev.wmss.kernels.error;

/**
 * A failed native call, carrying its {@link Status} and the native library's own message
 * ({@code wmss_last_error()}). Subclasses name the kind of failure so callers can catch what they can handle.
 */
public class WmssException extends RuntimeException {
    private final Status status;

    public WmssException(Status status, String message) {
        super(message);
        this.status = status;
    }

    public WmssException(Status status, String message, Throwable cause) {
        super(message, cause);
        this.status = status;
    }

    public Status status() {
        return status;
    }
}
