package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.NonFiniteException;
import dev.wmss.kernels.error.Status;
import dev.wmss.kernels.ffi.wmss_entropy_args;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * One entropy call, immutable and validated: the Java mirror of {@code wmss_entropy_args} (wmss.h). Build it with
 * {@link Entropy#of} and run it on an {@link EntropyBackend} (or {@link Builder#run()} for the default one).
 *
 * @param z              the logits [rows, vocab] of one model
 * @param labels         rows int64 labels ({@link CeMix#IGNORE_INDEX} = no target), or null (no NLL wanted)
 * @param entropy        per-row entropy (nats) of softmax(z): rows floats, required
 * @param nll            per-row {@code lse − z[y]} (0 for ignored rows): rows floats; given exactly when labels are
 * @param lse            per-row log-sum-exp, or null
 * @param allowNonFinite write NaN/inf rows instead of throwing {@link NonFiniteException}
 */
public record EntropyArgs(Logits z, MemorySegment labels, MemorySegment entropy, MemorySegment nll,
                          MemorySegment lse, boolean allowNonFinite) {

    public EntropyArgs {
        if (z == null) throw new InvalidArgumentException(Status.NULL_POINTER, "z is null");
        long n = z.rows() * 4;
        CeMixArgs.requireWritable("entropy", CeMixArgs.requireLength("entropy", entropy, n));
        if ((labels == null) != (nll == null)) {
            throw new InvalidArgumentException(Status.NULL_POINTER, (labels == null ? "labels" : "nll")
                    + " is null: labels and nll go together");
        }
        if (labels != null) CeMixArgs.requireLength("labels", labels, z.rows() * 8);
        if (nll != null) CeMixArgs.requireWritable("nll", CeMixArgs.requireLength("nll", nll, n));
        if (lse != null) CeMixArgs.requireWritable("lse", CeMixArgs.requireLength("lse", lse, n));
        if (!z.onDevice()) {
            new Overlaps().input("z", z).input("labels", labels, z.rows(), 8)
                    .output("entropy", entropy, z.rows(), 4).output("nll", nll, z.rows(), 4).output("lse", lse, z.rows(), 4)
                    .check();
        }
    }

    public long rows() {
        return z.rows();
    }

    public long vocab() {
        return z.vocab();
    }

    public boolean onDevice() {
        return z.onDevice();
    }

    /** The native buffers of this call (null for those not wanted), for memory-side checks. */
    MemorySegment[] buffers() {
        return new MemorySegment[]{z.data(), labels, entropy, nll, lse};
    }

    /** The native descriptor of this call, allocated in {@code arena} (every buffer checked alive and reachable). */
    public MemorySegment toNative(Arena arena) {
        CeMixArgs.requireReachable("entropy", buffers());
        MemorySegment s = arena.allocate(wmss_entropy_args.LAYOUT);
        wmss_entropy_args.size(s, wmss_entropy_args.LAYOUT.byteSize());
        wmss_entropy_args.dtype(s, z.dtype().code());
        wmss_entropy_args.flags(s, allowNonFinite ? 1 : 0);
        wmss_entropy_args.rows(s, rows());
        wmss_entropy_args.vocab(s, vocab());
        wmss_entropy_args.z(s, z.data());
        wmss_entropy_args.ld(s, z.rowStride());
        wmss_entropy_args.labels(s, labels == null ? MemorySegment.NULL : labels);
        wmss_entropy_args.entropy(s, entropy);
        wmss_entropy_args.nll(s, nll == null ? MemorySegment.NULL : nll);
        wmss_entropy_args.lse(s, lse == null ? MemorySegment.NULL : lse);
        return s;
    }

    /** Fluent construction; {@link #build()} validates, {@link #run()} builds and runs on the default backend. */
    public static final class Builder {
        private final Logits z;
        private final MemorySegment entropy;
        private MemorySegment labels, nll, lse;
        private boolean allowNonFinite;

        Builder(Logits z, MemorySegment entropy) {
            this.z = z;
            this.entropy = entropy;
        }

        /** Also the per-row NLL of {@code labels} into {@code nll}. */
        public Builder labels(MemorySegment labels, MemorySegment nll) {
            this.labels = labels;
            this.nll = nll;
            return this;
        }

        public Builder lse(MemorySegment out) {
            this.lse = out;
            return this;
        }

        public Builder allowNonFinite(boolean allow) {
            this.allowNonFinite = allow;
            return this;
        }

        public EntropyArgs build() {
            return new EntropyArgs(z, labels, entropy, nll, lse, allowNonFinite);
        }

        /** Runs on {@link KernelBackends#entropyFor the default backend} for the logits' memory. */
        public void run() {
            Entropy.run(build());
        }

        public void run(EntropyBackend backend) {
            backend.run(build());
        }
    }
}
