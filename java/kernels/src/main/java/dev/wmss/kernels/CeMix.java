package dev.wmss.kernels;

import java.lang.foreign.MemorySegment;

/**
 * ce_mix: the WD-JT loss. Cross-entropy of the mixed logits {@code z = λ·z_strong + (1−λ)·z_weak} against the
 * labels (−100 = ignore), with both gradients, in one fused pass per row.
 *
 * <pre>{@code
 * double loss = CeMix.of(strong, weak, labels)
 *         .lambda(0.5f).invNorm(1f / supervisedTokens)
 *         .inPlace()                      // gradients overwrite the logits
 *         .run();                         // = invNorm · Σ rows (lse − z[y])
 * }</pre>
 * The gradients are {@code λ·invNorm·(softmax(z) − onehot(y))} and {@code (1−λ)·invNorm·(…)}. Per-row loss
 * (unscaled), log-sum-exp and entropy of the mixed distribution can be written to caller buffers. The call is a
 * {@link CeMixArgs} value; the implementations are {@link CeMixBackend}s (CPU fused and unfused, CUDA fused and
 * unfused, plain Java in float64; libtorch's where wmss-runtime is present), found through {@link KernelBackends}
 * and all held to the same contract.
 */
public final class CeMix {
    /** Labels with this value have no target: zero loss and gradient, statistics still computed. */
    public static final long IGNORE_INDEX = -100;

    private CeMix() {}

    /** Starts a call on [rows, vocab] logits; labels are {@code rows} int64 values. */
    public static CeMixArgs.Builder of(Logits strong, Logits weak, MemorySegment labels) {
        return new CeMixArgs.Builder(strong, weak, labels);
    }

    /** Runs on the backend for the logits' memory (CUDA fused for device logits, CPU fused for host logits). */
    public static double run(CeMixArgs args) {
        return KernelBackends.ceMixFor(args).run(args);
    }
}
