package dev.wmss.runtime;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.Status;
import dev.wmss.runtime.ffi.WmssTorchH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * The gradient all-reduce of one model in a {@link ProcessGroup}, as DDP does it: flat buckets (~25 MiB) holding
 * the trainable parameters in approximate backward order (head, last layer .. first layer, embeddings).
 *
 * <p>Per optimizer step: {@link #prepare()} before the backward of the last micro-batch (with overlap, each bucket
 * is then all-reduced from inside backward as soon as its gradients are final), then {@link #sync} after it, then
 * clip and step. Call {@code prepare} on every rank or on none (a rank without data this step calls it too): the
 * ranks' collectives must match. Without {@code prepare}, {@code sync} reduces everything after backward.
 *
 * <p>Overlap is best when every gradient contribution is in place by the end of that backward; gradient added
 * later (written by hand, e.g. a head's, or by a second backward) is still reduced: a bucket that leaves during
 * backward takes its gradients out (zeroes them), and an armed {@code sync} sweeps for anything added since and
 * all-reduces it too (at the cost of one more all-reduce of the buckets concerned). Close it before its model.
 */
public final class GradientSync implements AutoCloseable {
    private MemorySegment handle;
    private final long buckets, elements;

    GradientSync(MemorySegment handle) {
        this.handle = handle;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment b = arena.allocate(8), e = arena.allocate(8);
            ProcessGroup.check(WmssTorchH.wmss_torch_dist_grads_info(handle, b, e, MemorySegment.NULL));
            buckets = b.get(ValueLayout.JAVA_LONG, 0);
            elements = e.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /** Arms the overlap for the model's next backward (no-op without overlap). */
    public void prepare() {
        ProcessGroup.check(WmssTorchH.wmss_torch_dist_grads_prepare(handle()));
    }

    /**
     * Finishes the all-reduce ({@code SUM} or {@code AVG}) and writes it into the gradients. Returns the seconds
     * spent here: the communication not hidden behind backward.
     */
    public double sync(ProcessGroup.Op op) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seconds = arena.allocate(ValueLayout.JAVA_DOUBLE);
            ProcessGroup.check(WmssTorchH.wmss_torch_dist_grads_sync(handle(), op.ordinal(), seconds));
            return seconds.get(ValueLayout.JAVA_DOUBLE, 0);
        }
    }

    public long buckets() {
        return buckets;
    }

    /**
     * Buckets the last {@link #sync} found already launched from inside backward: the overlap achieved (0 without
     * overlap or without {@link #prepare()}).
     */
    public long overlappedBuckets() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment o = arena.allocate(8);
            ProcessGroup.check(WmssTorchH.wmss_torch_dist_grads_info(handle(), MemorySegment.NULL, MemorySegment.NULL, o));
            return o.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /** Gradient elements reduced per step. */
    public long elements() {
        return elements;
    }

    private MemorySegment handle() {
        if (handle == null) throw new InvalidArgumentException(Status.ARGUMENT, "gradient sync already closed");
        return handle;
    }

    @Override
    public void close() {
        if (handle == null) return;
        MemorySegment h = handle;
        handle = null;
        ProcessGroup.check(WmssTorchH.wmss_torch_dist_grads_free(h));
    }
}
