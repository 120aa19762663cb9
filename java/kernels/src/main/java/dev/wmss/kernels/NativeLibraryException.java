package dev.wmss.kernels;

/** The native library could not be found, extracted or loaded, or lacks a symbol these bindings need. */
public final class NativeLibraryException extends WmssException {
    public NativeLibraryException(String message) {
        super(Status.INTERNAL, message);
    }

    public NativeLibraryException(String message, Throwable cause) {
        super(Status.INTERNAL, message, cause);
    }
}
