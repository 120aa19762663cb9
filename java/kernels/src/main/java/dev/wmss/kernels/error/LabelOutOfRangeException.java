package dev.wmss.kernels.error;

/** A label outside [0, vocab) that is not the ignore index -100. */
public final class LabelOutOfRangeException extends WmssException {
    public LabelOutOfRangeException(Status status, String message) {
        super(status, message);
    }
}
