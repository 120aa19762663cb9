package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.Status;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * entropy: per-row entropy of one model's distribution {@code softmax(z)}, fused with its NLL, the quantity WD-DS
 * averages over answer positions (H0 under the weak model, H1 under the strong one).
 *
 * <pre>{@code
 * Entropy.of(z, entropyOut)
 *         .labels(labels, nllOut)        // optional: the NLL of the labels too
 *         .lse(lseOut)                   // optional
 *         .run();                        // the CPU kernel for host logits, the GPU for device logits
 * }</pre>
 * The call is an {@link EntropyArgs} value; the implementations are {@link EntropyBackend}s (CPU, CUDA, plain
 * Java in float64), found through {@link KernelBackends} and all held to the same contract.
 */
public final class Entropy {
    private Entropy() {}

    /** Starts a call on [rows, vocab] logits writing rows floats of entropy (nats) to {@code entropy}. */
    public static EntropyArgs.Builder of(Logits z, MemorySegment entropy) {
        return new EntropyArgs.Builder(z, entropy);
    }

    /** Runs on the backend for the logits' memory (CUDA for device logits, the CPU for host logits). */
    public static void run(EntropyArgs args) {
        KernelBackends.entropyFor(args).run(args);
    }

    /** Mean entropy over the rows whose label is not −100 (0 if there are none): WD-DS's H of one example. */
    public static double meanOverLabelled(Logits.Host z, MemorySegment labels) {
        if (labels == null) {
            throw new InvalidArgumentException(Status.NULL_POINTER, "labels is null: the mean is over the labelled rows");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment h = arena.allocate(Math.max(4, z.rows() * 4), 64);
            MemorySegment nll = arena.allocate(Math.max(4, z.rows() * 4), 64);
            of(z, h).labels(labels, nll).run();
            double sum = 0;
            long n = 0;
            for (long r = 0; r < z.rows(); r++) {
                if (labels.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, r) == CeMix.IGNORE_INDEX) continue;
                sum += h.getAtIndex(ValueLayout.JAVA_FLOAT, r);
                n++;
            }
            return n == 0 ? 0 : sum / n;
        }
    }
}
