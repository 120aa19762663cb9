package dev.wmss.kernels.error;

/** A CUDA runtime error. */
public final class CudaException extends WmssException {
    public CudaException(Status status, String message) {
        super(status, message);
    }
}
