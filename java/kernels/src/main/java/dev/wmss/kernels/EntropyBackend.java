package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.NonFiniteException;
import dev.wmss.kernels.error.Status;

/**
 * One implementation of the entropy op. Every backend takes the same {@link EntropyArgs}, writes the same outputs
 * and throws the same typed exceptions; the tests run each one against the float64 reference ("java"). Get one
 * from {@link KernelBackends}.
 */
public interface EntropyBackend {
    /** A short name for logs and benchmarks, e.g. "cpu". */
    String name();

    /** True if this backend can run on the memory side of {@code args} (host or device). */
    boolean accepts(EntropyArgs args);

    /**
     * Runs the call: entropy (and NLL, lse when wanted) of every row.
     *
     * @throws NonFiniteException if a row is not finite and non-finite rows are not allowed (outputs are written)
     */
    void run(EntropyArgs args);

    /** Throws unless this backend accepts the call's memory side. */
    default void requireAccepts(EntropyArgs args) {
        if (!accepts(args)) {
            throw new InvalidArgumentException(Status.ARGUMENT, "backend " + name() + " cannot run on "
                    + (args.onDevice() ? "device" : "host") + " logits " + args.z().describe());
        }
    }
}
