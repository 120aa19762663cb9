package dev.wmss.kernels;

/** A CUDA runtime error. */
public final class CudaException extends WmssException {
    public CudaException(Status status, String message) {
        super(status, message);
    }
}
