package dev.wmss.runtime;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.Status;
import dev.wmss.runtime.ffi.WmssTorchH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.Map;

/**
 * One rank of a data-parallel job on libtorch's c10d: Gloo on CPUs (any machine), NCCL on CUDA where the native
 * library was built with it. One process per rank, as torchrun: {@link #fromEnvironment()} reads {@code RANK},
 * {@code WORLD_SIZE}, {@code LOCAL_RANK}, {@code MASTER_ADDR} and {@code MASTER_PORT} (set by
 * {@code wmss-native launch}, torchrun or a Slurm script); rank 0 serves the rendezvous store.
 *
 * <p>Every collective must be called by every rank in the same order, from one thread. A collective that cannot
 * complete (a rank exited, hung past the timeout, the network failed) throws {@link DistributedException} within
 * the timeout; the group is then unusable: close it and exit non-zero. Close it (try-with-resources) at the end.
 */
public final class ProcessGroup implements AutoCloseable {
    /** Per collective, and for all ranks to meet at start-up (torch's own default is 30 minutes). */
    public static final Duration DEFAULT_TIMEOUT = Duration.ofMinutes(10);
    /** Gradient bucket size, as torch's DistributedDataParallel. */
    public static final long DEFAULT_BUCKET_BYTES = 25L << 20;
    /** Environment variable overriding {@link #DEFAULT_TIMEOUT} for {@link #fromEnvironment()}, in seconds. */
    public static final String TIMEOUT_ENV = "WMSS_DIST_TIMEOUT";

    public enum Backend {
        GLOO, NCCL;

        String id() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        /** Whether this build of libwmss_torch can create a group with this backend. */
        public boolean available() {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment out = arena.allocate(ValueLayout.JAVA_INT);
                check(WmssTorchH.wmss_torch_dist_available(arena.allocateFrom(id()), out));
                return out.get(ValueLayout.JAVA_INT, 0) != 0;
            }
        }
    }

    /** Reductions; {@code AVG} (sum / world size) for floating types only. */
    public enum Op {
        SUM, AVG, MIN, MAX
    }

    // wmss_torch_dist_type
    static final int U8 = 0, I64 = 1, F32 = 2, F64 = 3;

    private MemorySegment handle;
    private final int rank, worldSize, localRank;

    private ProcessGroup(MemorySegment handle) {
        this.handle = handle;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = arena.allocate(4), w = arena.allocate(4), l = arena.allocate(4);
            check(WmssTorchH.wmss_torch_dist_info(handle, r, w, l));
            rank = r.get(ValueLayout.JAVA_INT, 0);
            worldSize = w.get(ValueLayout.JAVA_INT, 0);
            localRank = l.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** True when the process runs under a launcher ({@code WORLD_SIZE} is set). */
    public static boolean environmentPresent() {
        return environmentPresent(System.getenv());
    }

    static boolean environmentPresent(Map<String, String> env) {
        String w = env.get("WORLD_SIZE");
        return w != null && !w.isBlank();
    }

    /** Gloo group from torchrun's variables, timeout from {@code WMSS_DIST_TIMEOUT} (seconds) or the default. */
    public static ProcessGroup fromEnvironment() {
        return fromEnvironment(Backend.GLOO, timeoutFromEnvironment());
    }

    /** A group from torchrun's variables (blocks until every rank has joined, or the timeout). */
    public static ProcessGroup fromEnvironment(Backend backend, Duration timeout) {
        return create(backend, null, 0, -1, 0, -1, timeout);
    }

    /** A world of one (rank 0): every collective is the identity. Needs no network. */
    public static ProcessGroup single() {
        return create(Backend.GLOO, null, 0, 0, 1, 0, DEFAULT_TIMEOUT);
    }

    /**
     * A group with explicit arguments; {@code masterAddr == null}, {@code masterPort <= 0}, {@code rank < 0},
     * {@code worldSize <= 0} and {@code localRank < 0} are read from the environment instead.
     */
    public static ProcessGroup create(Backend backend, String masterAddr, int masterPort, int rank, int worldSize,
                                      int localRank, Duration timeout) {
        long ms = timeout.toMillis();
        if (ms <= 0) throw new InvalidArgumentException(Status.ARGUMENT, "the timeout must be positive");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check(WmssTorchH.wmss_torch_dist_init(arena.allocateFrom(backend.id()),
                    masterAddr == null ? MemorySegment.NULL : arena.allocateFrom(masterAddr), masterPort, rank,
                    worldSize, localRank, ms, out));
            return new ProcessGroup(out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /** The collective timeout from {@code WMSS_DIST_TIMEOUT} (seconds), or the default. */
    public static Duration timeoutFromEnvironment() {
        String s = System.getenv(TIMEOUT_ENV);
        if (s == null || s.isBlank()) return DEFAULT_TIMEOUT;
        try {
            double seconds = Double.parseDouble(s.trim());
            if (!(seconds > 0)) throw new NumberFormatException();
            return Duration.ofMillis(Math.round(seconds * 1000));
        } catch (NumberFormatException e) {
            throw new InvalidArgumentException(Status.ARGUMENT, TIMEOUT_ENV + "=" + s + " is not a positive number of seconds");
        }
    }

    public int rank() {
        return rank;
    }

    public int worldSize() {
        return worldSize;
    }

    /** The rank on this machine (the CUDA device for NCCL). */
    public int localRank() {
        return localRank;
    }

    /** Rank 0: the one that writes checkpoints, metrics and final models. */
    public boolean isRoot() {
        return rank == 0;
    }

    public void barrier() {
        check(WmssTorchH.wmss_torch_dist_barrier(handle()));
    }

    /** In place: every rank receives the reduction over ranks, element by element. */
    public void allReduce(double[] values, Op op) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, values);
            check(WmssTorchH.wmss_torch_dist_allreduce(handle(), F64, s, values.length, op.ordinal()));
            MemorySegment.copy(s, ValueLayout.JAVA_DOUBLE, 0, values, 0, values.length);
        }
    }

    /** In place ({@code AVG} is not defined for integers). */
    public void allReduce(long[] values, Op op) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocateFrom(ValueLayout.JAVA_LONG, values);
            check(WmssTorchH.wmss_torch_dist_allreduce(handle(), I64, s, values.length, op.ordinal()));
            MemorySegment.copy(s, ValueLayout.JAVA_LONG, 0, values, 0, values.length);
        }
    }

    /** In place. */
    public void allReduce(float[] values, Op op) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocateFrom(ValueLayout.JAVA_FLOAT, values);
            check(WmssTorchH.wmss_torch_dist_allreduce(handle(), F32, s, values.length, op.ordinal()));
            MemorySegment.copy(s, ValueLayout.JAVA_FLOAT, 0, values, 0, values.length);
        }
    }

    /** The sum over ranks of one value. */
    public long sum(long value) {
        long[] v = {value};
        allReduce(v, Op.SUM);
        return v[0];
    }

    /** The sum over ranks of one value. */
    public double sum(double value) {
        double[] v = {value};
        allReduce(v, Op.SUM);
        return v[0];
    }

    /** In place: every rank receives root's values (the length must agree on every rank). */
    public void broadcast(long[] values, int root) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocateFrom(ValueLayout.JAVA_LONG, values);
            check(WmssTorchH.wmss_torch_dist_broadcast(handle(), I64, s, values.length, root));
            MemorySegment.copy(s, ValueLayout.JAVA_LONG, 0, values, 0, values.length);
        }
    }

    /** In place: every rank receives root's values (the length must agree on every rank). */
    public void broadcast(double[] values, int root) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocateFrom(ValueLayout.JAVA_DOUBLE, values);
            check(WmssTorchH.wmss_torch_dist_broadcast(handle(), F64, s, values.length, root));
            MemorySegment.copy(s, ValueLayout.JAVA_DOUBLE, 0, values, 0, values.length);
        }
    }

    /**
     * Root's bytes on every rank, of any length (e.g. a serialised WD-DS selection): {@code data} is read on root
     * only (others may pass null). Two collectives: the length, then the bytes.
     */
    public byte[] broadcastBytes(byte[] data, int root) {
        long[] length = {rank == root ? requireRoot(data).length : 0};
        broadcast(length, root);
        if (length[0] > Integer.MAX_VALUE - 16) {
            throw new InvalidArgumentException(Status.ARGUMENT, "broadcast of " + length[0] + " bytes is too large for a byte[]");
        }
        int n = (int) length[0];
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(Math.max(n, 1));
            if (rank == root) MemorySegment.copy(data, 0, s, ValueLayout.JAVA_BYTE, 0, n);
            check(WmssTorchH.wmss_torch_dist_broadcast(handle(), U8, s, n, root));
            byte[] out = new byte[n];
            MemorySegment.copy(s, ValueLayout.JAVA_BYTE, 0, out, 0, n);
            return out;
        }
    }

    private static byte[] requireRoot(byte[] data) {
        if (data == null) throw new InvalidArgumentException(Status.NULL_POINTER, "the root rank must pass the data to broadcast");
        return data;
    }

    /** One value per rank, in rank order. */
    public long[] allGather(long value) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocateFrom(ValueLayout.JAVA_LONG, value);
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG, worldSize);
            check(WmssTorchH.wmss_torch_dist_allgather(handle(), I64, in, 1, out));
            return out.toArray(ValueLayout.JAVA_LONG);
        }
    }

    /** Every rank's array (lengths may differ, zero included), indexed by rank. Two collectives. */
    public float[][] allGather(float[] local) {
        MemorySegment[] parts = allGatherV(MemorySegment.ofArray(local), ValueLayout.JAVA_FLOAT, F32);
        float[][] out = new float[parts.length][];
        for (int r = 0; r < parts.length; r++) out[r] = parts[r].toArray(ValueLayout.JAVA_FLOAT);
        return out;
    }

    /** Every rank's array (lengths may differ, zero included), indexed by rank. Two collectives. */
    public double[][] allGather(double[] local) {
        MemorySegment[] parts = allGatherV(MemorySegment.ofArray(local), ValueLayout.JAVA_DOUBLE, F64);
        double[][] out = new double[parts.length][];
        for (int r = 0; r < parts.length; r++) out[r] = parts[r].toArray(ValueLayout.JAVA_DOUBLE);
        return out;
    }

    /** Every rank's bytes (lengths may differ, zero included), indexed by rank. Two collectives. */
    public byte[][] allGather(byte[] local) {
        MemorySegment[] parts = allGatherV(MemorySegment.ofArray(local), ValueLayout.JAVA_BYTE, U8);
        byte[][] out = new byte[parts.length][];
        for (int r = 0; r < parts.length; r++) out[r] = parts[r].toArray(ValueLayout.JAVA_BYTE);
        return out;
    }

    /** Gathers the lengths, then the values; returns heap copies of each rank's part. */
    private MemorySegment[] allGatherV(MemorySegment local, ValueLayout element, int type) {
        long size = element.byteSize();
        long[] counts = allGather(local.byteSize() / size);
        long total = 0;
        for (long c : counts) total += c;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocate(Math.max(local.byteSize(), 1), size);
            in.copyFrom(local);
            MemorySegment out = arena.allocate(Math.max(total * size, 1), size);
            check(WmssTorchH.wmss_torch_dist_allgatherv(handle(), type, in, arena.allocateFrom(ValueLayout.JAVA_LONG, counts), out));
            MemorySegment[] parts = new MemorySegment[worldSize];
            long at = 0;
            for (int r = 0; r < worldSize; r++) {
                int n = Math.toIntExact(counts[r]);
                MemorySegment heap = element == ValueLayout.JAVA_FLOAT ? MemorySegment.ofArray(new float[n])
                        : element == ValueLayout.JAVA_BYTE ? MemorySegment.ofArray(new byte[n])
                        : MemorySegment.ofArray(new double[n]);
                heap.copyFrom(out.asSlice(at * size, counts[r] * size));
                parts[r] = heap;
                at += counts[r];
            }
            return parts;
        }
    }

    /**
     * ZeRO stage 1: the model's AdamW moments sharded over the group (each rank keeps its slice of the flat parameter
     * space; {@link TorchModel#step} updates that slice and all-gathers the parameters, the same parameters bit for bit
     * as unsharded). Call after {@link TorchModel#adamW}, before the first step or optimizer load, on every rank.
     * Stage 0 leaves the optimizer whole; stages 2 and 3 are not implemented (an error).
     */
    public void shardOptimizer(TorchModel model, int stage) {
        check(WmssTorchH.wmss_torch_model_zero(model.handle(), handle(), stage));
    }

    /** Copies root's parameters into every rank's model (same architecture everywhere): identical start. */
    public void broadcastParameters(TorchModel model, int root) {
        check(WmssTorchH.wmss_torch_dist_broadcast_params(handle(), model.handle(), root));
    }

    /**
     * All-reduces the gradients of the model's trainable parameters ({@code SUM} or {@code AVG}) after backward,
     * in buckets of {@link #DEFAULT_BUCKET_BYTES}. For repeated steps prefer {@link #gradientSync}.
     */
    public void allReduceGradients(TorchModel model, Op op) {
        check(WmssTorchH.wmss_torch_dist_allreduce_grads(handle(), model.handle(), op.ordinal(), 0));
    }

    /**
     * A fixed bucket plan for the model's gradients; with {@code overlap}, buckets are all-reduced during backward
     * as their gradients become final (see {@link GradientSync}). A collective: every rank creates it.
     */
    public GradientSync gradientSync(TorchModel model, long bucketBytes, boolean overlap) {
        if (bucketBytes < 0) throw new InvalidArgumentException(Status.ARGUMENT, "bucketBytes must be >= 0 (0: the default)");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check(WmssTorchH.wmss_torch_dist_grads_new(handle(), model.handle(), bucketBytes, overlap ? 1 : 0, out));
            return new GradientSync(out.get(ValueLayout.ADDRESS, 0));
        }
    }

    private MemorySegment handle() {
        if (handle == null) throw new InvalidArgumentException(Status.ARGUMENT, "process group already closed");
        return handle;
    }

    /** Native status to exception by {@link Status}: {@link DistributedException} for a failed collective. */
    static void check(int status) {
        WmssTorch.check(status);
    }

    /** Leaves the group (no collective, so it is safe after a failure). */
    @Override
    public void close() {
        if (handle == null) return;
        MemorySegment h = handle;
        handle = null;
        check(WmssTorchH.wmss_torch_dist_free(h));
    }

    @Override
    public String toString() {
        return "ProcessGroup[rank " + rank + " of " + worldSize + ", local rank " + localRank + "]";
    }
}
