package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.NonFiniteException;
import dev.wmss.kernels.error.ShapeMismatchException;
import dev.wmss.kernels.error.Status;
import dev.wmss.kernels.ffi.wmss_ce_mix_args;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * One ce_mix call, immutable and validated: the Java mirror of {@code wmss_ce_mix_args} (wmss.h). Build it with
 * {@link CeMix#of} and run it on a {@link CeMixBackend} (or {@link Builder#run()} for the default one).
 *
 * @param strong         z_strong [rows, vocab]
 * @param weak           z_weak, same shape, dtype and memory side
 * @param labels         rows int64 labels, {@link CeMix#IGNORE_INDEX} = no target
 * @param lambda         weight of the strong logits, in [0, 1]
 * @param invNorm        1 / supervised tokens of the whole (accumulated, global) batch; NaN = 1 / supervised rows
 *                       of this call (host labels only)
 * @param gradStrong     where dL/dz_strong goes (null: not wanted); may be {@code strong} itself (in place)
 * @param gradWeak       where dL/dz_weak goes (null: not wanted, e.g. a frozen weak model); may be {@code weak}
 * @param rowLoss        per-row loss lse − z[y] (unscaled; 0 for ignored rows), rows floats, or null
 * @param lse            per-row log-sum-exp of the mixed logits, or null
 * @param entropy        per-row entropy (nats) of the mixed distribution, or null
 * @param allowNonFinite write NaN/inf rows instead of throwing {@link NonFiniteException}
 */
public record CeMixArgs(Logits strong, Logits weak, MemorySegment labels, float lambda, float invNorm,
                        Logits gradStrong, Logits gradWeak, MemorySegment rowLoss, MemorySegment lse,
                        MemorySegment entropy, boolean allowNonFinite) {

    public CeMixArgs {
        checkInputs(strong, weak, labels);
        checkGrad("gradStrong", gradStrong, strong);
        checkGrad("gradWeak", gradWeak, strong);
        long rows = strong.rows();
        if (rowLoss != null) requireWritable("rowLoss", requireLength("rowLoss", rowLoss, rows * 4));
        if (lse != null) requireWritable("lse", requireLength("lse", lse, rows * 4));
        if (entropy != null) requireWritable("entropy", requireLength("entropy", entropy, rows * 4));
        if (Float.isNaN(invNorm) && strong.onDevice()) {
            throw new InvalidArgumentException(Status.ARGUMENT, "invNorm is required for device logits (the labels"
                    + " are on the device: pass 1 / supervised tokens of the batch)");
        }
        if (!strong.onDevice()) { // the input lambda leaves unread may overlap anything
            new Overlaps().input("strong", lambda != 0f ? strong : null).input("weak", lambda != 1f ? weak : null)
                    .input("labels", labels, rows, 8)
                    .output("gradStrong", gradStrong, "strong").output("gradWeak", gradWeak, "weak")
                    .output("rowLoss", rowLoss, rows, 4).output("lse", lse, rows, 4).output("entropy", entropy, rows, 4)
                    .check();
        }
    }

    public long rows() {
        return strong.rows();
    }

    public long vocab() {
        return strong.vocab();
    }

    public boolean onDevice() {
        return strong.onDevice();
    }

    /** The gradient scale actually used: {@link #invNorm()}, or 1 / supervised rows when that is NaN. */
    public float effectiveInvNorm() {
        return Float.isNaN(invNorm) ? 1f / Math.max(1, supervisedRows(labels, rows())) : invNorm;
    }

    /**
     * Throws unless every buffer is off-heap host memory, as the native host kernels need (on a machine with a GPU
     * none may be CUDA memory: checked through CUDA itself, only where CUDA is in use). For backends in other
     * libraries; the built-in ones check this themselves.
     */
    public void requireNativeHost() {
        CeMixCpu.requireNativeHost(buffers());
    }

    /** The native buffers of this call (null for those not wanted), for memory-side checks. */
    MemorySegment[] buffers() {
        return new MemorySegment[]{strong.data(), weak.data(), labels, rowLoss, gradStrong == null ? null : gradStrong.data(),
                gradWeak == null ? null : gradWeak.data(), lse, entropy};
    }

    /**
     * The native descriptor of this call, allocated in {@code arena}, with {@code loss} as its per-row loss buffer.
     * The descriptor carries raw addresses, which the linker cannot check the way it checks segments passed as
     * arguments: every buffer is checked here to be alive and accessible from this thread. (As with any native API
     * that takes pointers inside a struct, a shared arena must not be closed while a call on its memory runs.)
     */
    public MemorySegment toNative(Arena arena, MemorySegment loss) {
        requireReachable("ce_mix", buffers());
        MemorySegment s = arena.allocate(wmss_ce_mix_args.LAYOUT);
        wmss_ce_mix_args.size(s, wmss_ce_mix_args.LAYOUT.byteSize());
        wmss_ce_mix_args.dtype(s, strong.dtype().code());
        wmss_ce_mix_args.flags(s, allowNonFinite ? 1 : 0);
        wmss_ce_mix_args.rows(s, rows());
        wmss_ce_mix_args.vocab(s, vocab());
        wmss_ce_mix_args.z_strong(s, strong.data());
        wmss_ce_mix_args.ld_strong(s, strong.rowStride());
        wmss_ce_mix_args.z_weak(s, weak.data());
        wmss_ce_mix_args.ld_weak(s, weak.rowStride());
        wmss_ce_mix_args.labels(s, labels);
        wmss_ce_mix_args.lambda(s, lambda);
        wmss_ce_mix_args.inv_norm(s, effectiveInvNorm());
        wmss_ce_mix_args.loss(s, loss);
        wmss_ce_mix_args.grad_strong(s, gradStrong == null ? MemorySegment.NULL : gradStrong.data());
        wmss_ce_mix_args.ld_grad_strong(s, gradStrong == null ? 0 : gradStrong.rowStride());
        wmss_ce_mix_args.grad_weak(s, gradWeak == null ? MemorySegment.NULL : gradWeak.data());
        wmss_ce_mix_args.ld_grad_weak(s, gradWeak == null ? 0 : gradWeak.rowStride());
        wmss_ce_mix_args.lse(s, lse == null ? MemorySegment.NULL : lse);
        wmss_ce_mix_args.entropy(s, entropy == null ? MemorySegment.NULL : entropy);
        return s;
    }

    /** Fluent construction; {@link #build()} validates, {@link #run()} builds and runs on the default backend. */
    public static final class Builder {
        private final Logits strong, weak;
        private final MemorySegment labels;
        private float lambda = 0.5f, invNorm = Float.NaN;
        private Logits gradStrong, gradWeak;
        private MemorySegment rowLoss, lse, entropy;
        private boolean allowNonFinite;

        Builder(Logits strong, Logits weak, MemorySegment labels) {
            checkInputs(strong, weak, labels); // fail at once on what the later calls cannot fix
            this.strong = strong;
            this.weak = weak;
            this.labels = labels;
        }

        /** Weight of the strong model's logits, in [0, 1]; default 0.5. */
        public Builder lambda(float lambda) {
            this.lambda = lambda;
            return this;
        }

        /** 1 / (supervised tokens of the whole accumulated batch); default: 1 / (supervised rows of this call). */
        public Builder invNorm(float invNorm) {
            this.invNorm = invNorm;
            return this;
        }

        public Builder gradStrong(Logits g) {
            this.gradStrong = checkGrad("gradStrong", g, strong);
            return this;
        }

        /** Omit it to freeze the weak model. */
        public Builder gradWeak(Logits g) {
            this.gradWeak = checkGrad("gradWeak", g, strong);
            return this;
        }

        /** Both gradients overwrite their logits (no extra memory). */
        public Builder inPlace() {
            return gradStrong(strong).gradWeak(weak);
        }

        public Builder rowLoss(MemorySegment out) {
            this.rowLoss = requireLength("rowLoss", out, strong.rows() * 4);
            return this;
        }

        public Builder lse(MemorySegment out) {
            this.lse = requireLength("lse", out, strong.rows() * 4);
            return this;
        }

        public Builder entropy(MemorySegment out) {
            this.entropy = requireLength("entropy", out, strong.rows() * 4);
            return this;
        }

        public Builder allowNonFinite(boolean allow) {
            this.allowNonFinite = allow;
            return this;
        }

        public CeMixArgs build() {
            return new CeMixArgs(strong, weak, labels, lambda, invNorm, gradStrong, gradWeak, rowLoss, lse, entropy,
                    allowNonFinite);
        }

        /** Runs on {@link KernelBackends#ceMixFor the default backend}: the loss {@code invNorm · Σ rowLoss}. */
        public double run() {
            return CeMix.run(build());
        }

        /** Runs on the given backend. */
        public double run(CeMixBackend backend) {
            return backend.run(build());
        }
    }

    /** Both logit matrices present, of one shape, dtype and memory side; labels long enough. */
    private static void checkInputs(Logits strong, Logits weak, MemorySegment labels) {
        if (strong == null || weak == null || labels == null) {
            throw new InvalidArgumentException(Status.NULL_POINTER, "strong, weak and labels are required");
        }
        if (!strong.sameShape(weak) || strong.onDevice() != weak.onDevice()) {
            throw new ShapeMismatchException(Status.SHAPE, "strong logits " + strong.describe()
                    + " and weak logits " + weak.describe() + " differ");
        }
        requireLength("labels", labels, strong.rows() * 8);
    }

    /**
     * A descriptor carries raw addresses, which the linker cannot check the way it checks segments passed as
     * arguments: every buffer must be alive and accessible from this thread.
     */
    static void requireReachable(String op, MemorySegment... buffers) {
        Thread self = Thread.currentThread();
        for (MemorySegment b : buffers) {
            if (b == null) continue;
            if (!b.scope().isAlive()) throw new IllegalStateException("a buffer of this " + op + " call was already freed: " + b);
            if (!b.isAccessibleBy(self)) throw new WrongThreadException("a buffer of this " + op + " call is confined to another thread: " + b);
        }
    }

    /** Outputs are written through raw addresses, which would bypass a read-only segment's protection. */
    static MemorySegment requireWritable(String name, MemorySegment s) {
        if (s.isReadOnly()) {
            throw new InvalidArgumentException(Status.ARGUMENT, name + " is a read-only segment; outputs need writable memory");
        }
        return s;
    }

    static long supervisedRows(MemorySegment labels, long rows) {
        long n = 0;
        for (long r = 0; r < rows; r++) if (labels.getAtIndex(ValueLayout.JAVA_LONG_UNALIGNED, r) != CeMix.IGNORE_INDEX) n++;
        return n;
    }

    static MemorySegment requireLength(String name, MemorySegment s, long bytes) {
        if (s == null) throw new InvalidArgumentException(Status.NULL_POINTER, name + " is null");
        if (s.byteSize() < bytes) {
            throw new ShapeMismatchException(Status.SHAPE, name + " has " + s.byteSize() + " bytes, needs " + bytes);
        }
        return s;
    }

    private static Logits checkGrad(String name, Logits g, Logits like) {
        if (g != null && (!g.sameShape(like) || g.onDevice() != like.onDevice())) {
            throw new ShapeMismatchException(Status.SHAPE, name + " " + g.describe() + " does not match the logits "
                    + like.describe());
        }
        if (g != null) requireWritable(name, g.data());
        return g;
    }
}
