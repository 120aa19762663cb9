package dev.wmss.runtime;

import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.ShapeMismatchException;
import dev.wmss.kernels.error.Status;
import dev.wmss.runtime.ffi.WmssTorchH;
import dev.wmss.runtime.ffi.wmss_torch_fused_head_args;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The fused LM head: the WD-JT (or SFT) loss from two models' hidden states without N×V logits. After
 * {@link TorchModel#forwardHidden} of each model, one call takes the rows in chunks, computes both models' logits of
 * the chunk with their own head weights, runs the fused ce_mix in place, accumulates d loss / d hidden and the head
 * weights' gradients (the embedding's where tied), and then backpropagates through the rest of each model.
 *
 * <pre>{@code
 * strong.forwardHidden(ids, mask, b, t, true);
 * weak.forwardHidden(ids, mask, b, t, true);
 * double loss = FusedHead.of(strong, weak, labels, b * t).lambda(0.5f).invNorm(1f / n).run();
 * }</pre>
 * A model gets gradients when its forwardHidden kept the graph and it is trainable. One model (weak = null) is
 * SFT or evaluation (lambda 1). Per-row outputs (the loss, log-sum-exp and entropy of the mixed distribution, each
 * model's own entropy, the strong model's mean non-target logit and squared gradient norm) are optional buffers.
 */
public final class FusedHead {
    /** The default chunk budget: one chunk's logits (all models) in 320 MiB, 256 rows of two Qwen-sized vocabularies. */
    public static final long DEFAULT_CHUNK_BYTES = 320L << 20;
    /** Stop at d loss / d hidden: the caller runs {@link TorchModel#backwardHidden}. */
    static final int NO_BACKWARD = 0x100;

    private FusedHead() {}

    /** A call on the models' last forwardHidden ({@code rows} = batch·seq); weak may be null (one model). */
    public static Builder of(TorchModel strong, TorchModel weak, MemorySegment labels, long rows) {
        return new Builder(strong, weak, labels, rows);
    }

    /** The chunking a call would use: {rows per chunk, chunks}. */
    public static long[] plan(long rows, long vocab, int models, long chunkBytes) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(16, 8);
            TorchModel.check(WmssTorchH.wmss_torch_fused_head_plan(rows, vocab, models, chunkBytes, out));
            return out.toArray(ValueLayout.JAVA_LONG);
        }
    }

    public static final class Builder {
        private final TorchModel strong, weak;
        private final MemorySegment labels;
        private final long rows;
        private float lambda = 0.5f, invNorm = Float.NaN;
        private long chunkBytes = DEFAULT_CHUNK_BYTES;
        private boolean backward = true, allowNonFinite;
        private MemorySegment rowLoss, lse, entropy, entropyStrong, entropyWeak, nonTarget, gradSq, ghStrong, ghWeak;

        private Builder(TorchModel strong, TorchModel weak, MemorySegment labels, long rows) {
            if (strong == null || labels == null) {
                throw new InvalidArgumentException(Status.NULL_POINTER, "the strong model and the labels are required");
            }
            if (rows < 0) throw new ShapeMismatchException(Status.SHAPE, "rows = " + rows + " is negative");
            this.strong = strong;
            this.weak = weak;
            this.labels = rowsOf("labels", labels, 8, rows);
            this.rows = rows;
            if (weak == null) lambda = 1f;
        }

        private MemorySegment rowsOf(String name, MemorySegment s, long bytesPerRow, long n) {
            if (s == null) throw new InvalidArgumentException(Status.NULL_POINTER, name + " is null");
            if (s.byteSize() < n * bytesPerRow) {
                throw new ShapeMismatchException(Status.SHAPE, name + " has " + s.byteSize() + " bytes, needs " + n * bytesPerRow);
            }
            return s;
        }

        private MemorySegment perRow(String name, MemorySegment s) {
            return rowsOf(name, s, 4, rows);
        }

        /** Weight of the strong model's logits, in [0, 1]; default 0.5 (1 with one model). */
        public Builder lambda(float v) {
            lambda = v;
            return this;
        }

        /** 1 / supervised tokens of the whole accumulated batch; default: 1 / supervised rows of this call. */
        public Builder invNorm(float v) {
            invNorm = v;
            return this;
        }

        /** Budget for one chunk's fp32 logits of all models together, > 0 (at least one row is taken). */
        public Builder chunkBytes(long v) {
            if (v <= 0) throw new InvalidArgumentException(Status.ARGUMENT, "chunkBytes = " + v + ": the chunk budget must be > 0");
            chunkBytes = v;
            return this;
        }

        /** false: stop at d loss / d hidden (see {@link #gradHiddenStrong}); then call {@link TorchModel#backwardHidden}. */
        public Builder backward(boolean v) {
            backward = v;
            return this;
        }

        public Builder allowNonFinite(boolean v) {
            allowNonFinite = v;
            return this;
        }

        /** Per-row loss of the mixed logits, unscaled (0 for ignored rows). */
        public Builder rowLoss(MemorySegment out) {
            rowLoss = perRow("rowLoss", out);
            return this;
        }

        public Builder lse(MemorySegment out) {
            lse = perRow("lse", out);
            return this;
        }

        /** Entropy (nats) of the mixed distribution; with one model, of its own. */
        public Builder entropy(MemorySegment out) {
            entropy = perRow("entropy", out);
            return this;
        }

        public Builder entropyStrong(MemorySegment out) {
            entropyStrong = perRow("entropyStrong", out);
            return this;
        }

        public Builder entropyWeak(MemorySegment out) {
            entropyWeak = perRow("entropyWeak", out);
            return this;
        }

        /** Mean strong logit over the vocabulary without the label's (over all of it for ignored rows). */
        public Builder nonTargetLogitStrong(MemorySegment out) {
            nonTarget = perRow("nonTargetLogitStrong", out);
            return this;
        }

        /** Σ over the vocabulary of (d loss / d z_strong)². */
        public Builder gradSquaredStrong(MemorySegment out) {
            gradSq = perRow("gradSquaredStrong", out);
            return this;
        }

        /** A copy of d loss / d hidden of the strong model, [rows, width]. */
        public Builder gradHiddenStrong(MemorySegment out, long width) {
            ghStrong = rowsOf("gradHiddenStrong", out, 4 * width, rows);
            return this;
        }

        public Builder gradHiddenWeak(MemorySegment out, long width) {
            ghWeak = rowsOf("gradHiddenWeak", out, 4 * width, rows);
            return this;
        }

        /** Runs the call; returns the loss {@code invNorm · Σ rowLoss}. */
        public double run() {
            float inv = Float.isNaN(invNorm) ? 1f / Math.max(1, supervised()) : invNorm;
            // The descriptor carries raw addresses, which the linker cannot check: each buffer is checked here.
            Thread self = Thread.currentThread();
            for (MemorySegment b : new MemorySegment[]{labels, rowLoss, lse, entropy, entropyStrong, entropyWeak, nonTarget,
                    gradSq, ghStrong, ghWeak}) {
                if (b == null) continue;
                if (!b.scope().isAlive()) throw new IllegalStateException("a buffer of this fused head call was already freed: " + b);
                if (!b.isAccessibleBy(self)) throw new WrongThreadException("a buffer of this fused head call is confined to another thread: " + b);
            }
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment loss = rowLoss != null ? rowLoss : arena.allocate(Math.max(4, rows * 4), 8);
                MemorySegment a = arena.allocate(wmss_torch_fused_head_args.LAYOUT);
                wmss_torch_fused_head_args.size(a, wmss_torch_fused_head_args.LAYOUT.byteSize());
                wmss_torch_fused_head_args.strong(a, strong.nativeHandle());
                wmss_torch_fused_head_args.weak(a, weak == null ? MemorySegment.NULL : weak.nativeHandle());
                wmss_torch_fused_head_args.labels(a, labels);
                wmss_torch_fused_head_args.rows(a, rows);
                wmss_torch_fused_head_args.lambda(a, lambda);
                wmss_torch_fused_head_args.inv_norm(a, inv);
                wmss_torch_fused_head_args.chunk_bytes(a, chunkBytes);
                wmss_torch_fused_head_args.flags(a, (allowNonFinite ? 1 : 0) | (backward ? 0 : NO_BACKWARD));
                wmss_torch_fused_head_args.loss(a, loss);
                wmss_torch_fused_head_args.lse(a, orNull(lse));
                wmss_torch_fused_head_args.entropy(a, orNull(entropy));
                wmss_torch_fused_head_args.entropy_strong(a, orNull(entropyStrong));
                wmss_torch_fused_head_args.entropy_weak(a, orNull(entropyWeak));
                wmss_torch_fused_head_args.non_target_logit_strong(a, orNull(nonTarget));
                wmss_torch_fused_head_args.grad_sq_strong(a, orNull(gradSq));
                wmss_torch_fused_head_args.grad_hidden_strong(a, orNull(ghStrong));
                wmss_torch_fused_head_args.grad_hidden_weak(a, orNull(ghWeak));
                TorchModel.check(WmssTorchH.wmss_torch_fused_head(a));
                double sum = 0;
                for (long r = 0; r < rows; r++) sum += loss.getAtIndex(ValueLayout.JAVA_FLOAT, r);
                return sum * inv;
            }
        }

        private long supervised() {
            long n = 0;
            for (long r = 0; r < rows; r++) {
                if (labels.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, r) != CeMix.IGNORE_INDEX) n++;
            }
            return n;
        }

        private static MemorySegment orNull(MemorySegment s) {
            return s == null ? MemorySegment.NULL : s;
        }
    }
}
