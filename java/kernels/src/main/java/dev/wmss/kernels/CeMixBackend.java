package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.NonFiniteException;
import dev.wmss.kernels.error.Status;

/**
 * One implementation of the ce_mix contract. Every backend takes the same {@link CeMixArgs}, writes the same
 * outputs and throws the same typed exceptions; the tests run each one against the float64 reference ("java").
 * Get one from {@link KernelBackends}; another library adds its own through {@link java.util.ServiceLoader}
 * (wmss-runtime adds "libtorch").
 */
public interface CeMixBackend {
    /** A short name for logs and benchmarks, e.g. "cpu-fused". */
    String name();

    /** True if this backend can run on the memory side of {@code args} (host or device). */
    boolean accepts(CeMixArgs args);

    /**
     * Runs the call and returns the loss {@code invNorm · Σ rowLoss} (summed in double).
     *
     * @throws NonFiniteException if a row is not finite and non-finite rows are not allowed (outputs are written)
     */
    double run(CeMixArgs args);

    /** Throws unless this backend accepts the call's memory side. */
    default void requireAccepts(CeMixArgs args) {
        if (!accepts(args)) {
            throw new InvalidArgumentException(Status.ARGUMENT, "backend " + name() + " cannot run on "
                    + (args.onDevice() ? "device" : "host") + " logits " + args.strong().describe());
        }
    }
}
