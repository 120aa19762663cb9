package dev.wmss.kernels;

import dev.wmss.kernels.ffi.WmssH;
import dev.wmss.kernels.ffi.WmssTorchH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * ce_mix: the WD-JT loss. Cross-entropy of the mixed logits {@code z = λ·z_strong + (1−λ)·z_weak} against the
 * labels (−100 = ignore), with both gradients, in one fused pass per row.
 *
 * <pre>{@code
 * double loss = MixCrossEntropy.of(strong, weak, labels)
 *         .lambda(0.5f).invNorm(1f / supervisedTokens)
 *         .inPlace()                      // gradients overwrite the logits
 *         .run();                         // = invNorm · Σ rows (lse − z[y])
 * }</pre>
 * The gradients are {@code λ·invNorm·(softmax(z) − onehot(y))} and {@code (1−λ)·invNorm·(…)}. Per-row loss
 * (unscaled), log-sum-exp and entropy of the mixed distribution can be written to caller buffers.
 */
public final class MixCrossEntropy {
    public static final long IGNORE_INDEX = -100;

    /**
     * Implementations of the same op: the fused native kernel and the unfused baseline (on the CPU for host
     * memory, on the GPU for {@link DeviceMemory}), libtorch's ops, and plain Java (float64).
     */
    public enum Variant { FUSED, UNFUSED, LIBTORCH, JAVA }

    private MixCrossEntropy() {}

    /** A call on [rows, vocab] logits; labels are {@code rows} int64 values. */
    public static Call of(Logits strong, Logits weak, MemorySegment labels) {
        return new Call(strong, weak, labels);
    }

    /** The parameters of one call; {@link #run()} executes it. Not thread-safe; cheap to create. */
    public static final class Call {
        final Logits strong, weak;
        final MemorySegment labels;
        float lambda = 0.5f;
        float invNorm = Float.NaN;
        Logits gradStrong, gradWeak;
        MemorySegment rowLoss, lse, entropy, workspace;
        boolean allowNonFinite;
        Variant variant = Variant.FUSED;

        private Call(Logits strong, Logits weak, MemorySegment labels) {
            if (strong == null || weak == null || labels == null) {
                throw new InvalidArgumentException(Status.NULL_POINTER, "strong, weak and labels are required");
            }
            if (!strong.sameShape(weak)) {
                throw new ShapeMismatchException(Status.SHAPE, "strong logits " + strong.describe()
                        + " and weak logits " + weak.describe() + " differ");
            }
            this.strong = strong;
            this.weak = weak;
            this.labels = labels;
            requireLength("labels", labels, strong.rows() * 8);
        }

        /** Weight of the strong model's logits, in [0, 1]; default 0.5. */
        public Call lambda(float lambda) {
            this.lambda = lambda;
            return this;
        }

        /** 1 / (supervised tokens of the whole accumulated batch); default: 1 / (supervised rows of this call). */
        public Call invNorm(float invNorm) {
            this.invNorm = invNorm;
            return this;
        }

        /** Where ∂L/∂z_strong goes (same shape and dtype as the logits); may be the strong logits themselves. */
        public Call gradStrong(Logits g) {
            this.gradStrong = checkGrad("gradStrong", g);
            return this;
        }

        /** Where ∂L/∂z_weak goes; may be the weak logits themselves. Omit it to freeze the weak model. */
        public Call gradWeak(Logits g) {
            this.gradWeak = checkGrad("gradWeak", g);
            return this;
        }

        /** Both gradients overwrite their logits (no extra memory). */
        public Call inPlace() {
            return gradStrong(strong).gradWeak(weak);
        }

        /** Per-row loss {@code lse − z[y]} (not scaled; 0 for ignored rows), {@code rows} floats. */
        public Call rowLoss(MemorySegment out) {
            this.rowLoss = requireLength("rowLoss", out, strong.rows() * 4);
            return this;
        }

        /** Per-row log-sum-exp of the mixed logits, {@code rows} floats (ignored rows included). */
        public Call lse(MemorySegment out) {
            this.lse = requireLength("lse", out, strong.rows() * 4);
            return this;
        }

        /** Per-row entropy (nats) of the mixed distribution, {@code rows} floats (ignored rows included). */
        public Call entropy(MemorySegment out) {
            this.entropy = requireLength("entropy", out, strong.rows() * 4);
            return this;
        }

        /** Write NaN/inf rows instead of throwing {@link NonFiniteException}. */
        public Call allowNonFinite(boolean allow) {
            this.allowNonFinite = allow;
            return this;
        }

        public Call variant(Variant v) {
            this.variant = v;
            return this;
        }

        /** Scratch for {@link Variant#UNFUSED}: 2·rows·vocab floats (allocated per call if not given). */
        public Call workspace(MemorySegment ws) {
            this.workspace = ws;
            return this;
        }

        /**
         * Runs the op and returns the loss {@code invNorm · Σ rowLoss} (summed in double).
         *
         * @throws NonFiniteException if a row is not finite and {@link #allowNonFinite} is off (outputs are written)
         */
        public double run() {
            float norm = Float.isNaN(invNorm) ? 1f / Math.max(1, supervisedRows(labels, strong.rows())) : invNorm;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment loss = rowLoss != null ? rowLoss : arena.allocate(Math.max(4, strong.rows() * 4), 64);
                if (strong.onDevice()) return Cuda.run(this, norm, rowLoss);
                switch (variant) {
                    case FUSED -> fused(norm, loss);
                    case UNFUSED -> unfused(norm, loss, arena);
                    case LIBTORCH -> libtorch(norm, loss);
                    case JAVA -> JavaMixCrossEntropy.run(this, norm, loss);
                }
                double sum = 0;
                for (long r = 0; r < strong.rows(); r++) sum += loss.getAtIndex(ValueLayout.JAVA_FLOAT, r);
                return sum * norm;
            }
        }

        private void fused(float invNorm, MemorySegment rowLoss) {
            requireNative(rowLoss);
            Backend.current();
            int st = WmssH.wmss_ce_mix(strong.dtype().code(), strong.rows(), strong.vocab(), strong.data(),
                    strong.rowStride(), weak.data(), weak.rowStride(), labels, lambda, invNorm, rowLoss,
                    seg(gradStrong), ld(gradStrong), seg(gradWeak), ld(gradWeak), orNull(lse), orNull(entropy),
                    flags());
            Status.check(st, Backend::lastError);
        }

        private void unfused(float invNorm, MemorySegment rowLoss, Arena arena) {
            requireNative(rowLoss);
            Backend.current();
            long need = 2 * strong.rows() * strong.vocab();
            MemorySegment ws = workspace != null ? workspace : arena.allocate(Math.max(4, need * 4), 64);
            int st = WmssH.wmss_ce_mix_unfused(strong.dtype().code(), strong.rows(), strong.vocab(), strong.data(),
                    strong.rowStride(), weak.data(), weak.rowStride(), labels, lambda, invNorm, rowLoss,
                    seg(gradStrong), ld(gradStrong), seg(gradWeak), ld(gradWeak), orNull(lse), orNull(entropy),
                    flags(), ws, ws.byteSize() / 4);
            Status.check(st, Backend::lastError);
        }

        private void libtorch(float invNorm, MemorySegment rowLoss) {
            requireNative(rowLoss);
            int st = WmssTorchH.wmss_torch_ce_mix_ref(strong.dtype().code(), strong.rows(), strong.vocab(),
                    strong.data(), strong.rowStride(), weak.data(), weak.rowStride(), labels, lambda, invNorm,
                    rowLoss, seg(gradStrong), ld(gradStrong), seg(gradWeak), ld(gradWeak), orNull(lse),
                    orNull(entropy));
            Status.check(st, () -> WmssTorch.lastError());
        }

        private int flags() {
            return allowNonFinite ? 1 : 0;
        }

        private void requireNative(MemorySegment rowLoss) {
            for (MemorySegment s : buffers(rowLoss)) {
                if (s != null && !s.isNative() && !s.equals(MemorySegment.NULL)) {
                    throw new InvalidArgumentException(Status.ARGUMENT, "native variants need native (off-heap)"
                            + " segments; got a heap segment " + s + " (allocate with an Arena)");
                }
                if (DeviceMemory.isDevice(s)) {
                    throw new InvalidArgumentException(Status.ARGUMENT, "a buffer is in CUDA device memory but the"
                            + " logits are on the host: keep all buffers of a call on one side");
                }
            }
        }

        MemorySegment[] buffers(MemorySegment rowLoss) {
            return new MemorySegment[]{strong.data(), weak.data(), labels, rowLoss, seg(gradStrong), seg(gradWeak),
                    lse, entropy};
        }

        private Logits checkGrad(String name, Logits g) {
            if (g != null && !g.sameShape(strong)) {
                throw new ShapeMismatchException(Status.SHAPE, name + " " + g.describe()
                        + " does not match the logits " + strong.describe());
            }
            return g;
        }
    }

    static long supervisedRows(MemorySegment labels, long rows) {
        long n = 0;
        for (long r = 0; r < rows; r++) if (labels.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, r) != IGNORE_INDEX) n++;
        return n;
    }

    static MemorySegment requireLength(String name, MemorySegment s, long bytes) {
        if (s == null) throw new InvalidArgumentException(Status.NULL_POINTER, name + " is null");
        if (s.byteSize() < bytes) {
            throw new ShapeMismatchException(Status.SHAPE, name + " has " + s.byteSize() + " bytes, needs " + bytes);
        }
        return s;
    }

    static MemorySegment seg(Logits l) {
        return l == null ? MemorySegment.NULL : l.data();
    }

    static long ld(Logits l) {
        return l == null ? 0 : l.rowStride();
    }

    static MemorySegment orNull(MemorySegment s) {
        return s == null ? MemorySegment.NULL : s;
    }
}
