package dev.wmss.kernels.error;

/** A backend that was asked for but cannot run here (no CUDA device, CPU lacks the ISA, not built in). */
public final class BackendUnavailableException extends WmssException {
    public BackendUnavailableException(Status status, String message) {
        super(status, message);
    }
}
