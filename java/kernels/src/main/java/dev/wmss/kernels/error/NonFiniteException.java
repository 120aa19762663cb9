package dev.wmss.kernels.error;

/** NaN or +inf logits, a row of only -inf, or an infinite loss, under the default non-finite policy (the outputs were written; see allowNonFinite). */
public final class NonFiniteException extends WmssException {
    public NonFiniteException(Status status, String message) {
        super(status, message);
    }
}
