/**
 * wmss-kernels: the fused WMSS kernels for any Panama (FFM) project. {@link dev.wmss.kernels.CeMix} (the WD-JT loss
 * of mixed weak/strong logits with both gradients) and {@link dev.wmss.kernels.Entropy} (WD-DS's per-row entropy),
 * each a validated argument record run on a backend that {@link dev.wmss.kernels.KernelBackends} picks: the C
 * kernels (SIMD + OpenMP), the CUDA kernels, or the float64 Java reference. The native libraries come from a
 * wmss-natives jar on the class path (classifier linux-x86_64, or linux-x86_64-cuda).
 */
module dev.wmss.kernels {
    exports dev.wmss.kernels;
    // the status codes and the typed exceptions every call may throw
    exports dev.wmss.kernels.error;
    // the bindings' machinery, for the bindings of wmss-runtime only
    exports dev.wmss.kernels.ffi to dev.wmss.runtime;

    uses dev.wmss.kernels.CeMixBackend;
    uses dev.wmss.kernels.EntropyBackend;
}
