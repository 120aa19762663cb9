package dev.wmss.kernels;

import java.util.List;

/**
 * One implementation of the ce_mix contract. Every backend takes the same {@link CeMixArgs}, writes the same
 * outputs and throws the same typed exceptions; the tests run each one against the float64 reference.
 */
public interface CeMixBackend {
    /** The fused CPU kernel (C, SIMD + OpenMP): the default for host logits. */
    CeMixBackend CPU_FUSED = new CeMixCpu(true);
    /** The unfused CPU baseline (one pass per op, as an eager framework computes it). */
    CeMixBackend CPU_UNFUSED = new CeMixCpu(false);
    /** The fused CUDA kernel (one launch): the default for device logits. */
    CeMixBackend CUDA_FUSED = new CeMixCuda(true);
    /** The unfused CUDA baseline (one launch per op). */
    CeMixBackend CUDA_UNFUSED = new CeMixCuda(false);
    /** libtorch's own ops and autograd (libwmss_torch), on every core: the framework reference. */
    CeMixBackend LIBTORCH = new CeMixTorch();
    /** Plain Java, float64 throughout: the reference of the tests. */
    CeMixBackend JAVA = new CeMixJava();

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

    /** Every backend, in order of preference. */
    static List<CeMixBackend> all() {
        return List.of(CUDA_FUSED, CPU_FUSED, CUDA_UNFUSED, CPU_UNFUSED, LIBTORCH, JAVA);
    }

    /** The default for the memory side of {@code args}. */
    static CeMixBackend forArgs(CeMixArgs args) {
        return args.onDevice() ? CUDA_FUSED : CPU_FUSED;
    }

    /** The unfused CPU baseline with a caller-owned scratch of 2·rows·vocab floats (no allocation per call). */
    static CeMixBackend cpuUnfused(java.lang.foreign.MemorySegment workspace) {
        return new CeMixCpu(workspace);
    }

    /** Throws unless this backend accepts the call's memory side. */
    default void requireAccepts(CeMixArgs args) {
        if (!accepts(args)) {
            throw new InvalidArgumentException(Status.ARGUMENT, "backend " + name() + " cannot run on "
                    + (args.onDevice() ? "device" : "host") + " logits " + args.strong().describe());
        }
    }
}
