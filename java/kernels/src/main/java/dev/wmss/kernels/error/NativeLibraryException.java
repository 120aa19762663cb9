package dev.wmss.kernels.error;

/**
 * The native library could not be found, extracted or loaded, lacks a symbol these bindings need, or was built
 * against another wmss.h ({@link Status#VERSION}: an argument descriptor of another size).
 */
public final class NativeLibraryException extends WmssException {
    public NativeLibraryException(String message) {
        super(Status.INTERNAL, message);
    }

    NativeLibraryException(Status status, String message) {
        super(status, message);
    }

    public NativeLibraryException(String message, Throwable cause) {
        super(Status.INTERNAL, message, cause);
    }
}
