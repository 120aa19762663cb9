package dev.wmss.kernels.error;

import java.util.function.Supplier;

/**
 * The status codes of {@code wmss.h}, each mapped to the exception type it raises in Java; plus
 * {@link #DISTRIBUTED}, {@code WMSS_TORCH_ERR_DIST} of {@code wmss_torch.h} (a failed collective), which the
 * model runtime (wmss-runtime) raises as its own exception type; here it is a plain {@link WmssException}.
 */
public enum Status {
    OK(0), NULL_POINTER(1), SHAPE(2), LABEL(3), ALIGNMENT(4), ALIAS(5), DTYPE(6), NONFINITE(7), ARGUMENT(8),
    NO_DEVICE(9), CUDA(10), OUT_OF_MEMORY(11), UNSUPPORTED(12), INTERNAL(13), VERSION(14), DISTRIBUTED(64);

    private final int code;

    Status(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static Status of(int code) {
        for (Status s : values()) if (s.code == code) return s;
        return INTERNAL;
    }

    /** Throws the typed exception for a non-zero code, with the message supplied (normally wmss_last_error()). */
    public static void check(int code, Supplier<String> message) {
        if (code != 0) throw exception(code, message.get());
    }

    public static WmssException exception(int code, String message) {
        Status s = of(code);
        String m = message == null || message.isBlank() ? "native call failed with status " + s : message;
        // the C library's advice names its C flag; a Java caller asks for the same with allowNonFinite(true)
        m = m.replace("pass WMSS_FLAG_ALLOW_NONFINITE", "call allowNonFinite(true)");
        return switch (s) {
            case SHAPE -> new ShapeMismatchException(s, m);
            case LABEL -> new LabelOutOfRangeException(s, m);
            case NONFINITE -> new NonFiniteException(s, m);
            case NULL_POINTER, ALIGNMENT, ALIAS, DTYPE, ARGUMENT -> new InvalidArgumentException(s, m);
            case NO_DEVICE, UNSUPPORTED -> new BackendUnavailableException(s, m);
            case CUDA -> new CudaException(s, m);
            case OUT_OF_MEMORY -> new NativeOutOfMemoryException(s, m);
            case VERSION -> new NativeLibraryException(s, m);
            default -> new WmssException(s, m);
        };
    }
}
