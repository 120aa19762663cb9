package dev.wmss.runtime;

import dev.wmss.kernels.DType;
import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.Logits;
import dev.wmss.kernels.error.ShapeMismatchException;
import dev.wmss.kernels.error.Status;
import dev.wmss.runtime.ffi.WmssTorchH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * A decoder-only transformer (Llama / Mistral / Qwen2 / Qwen3, Hugging Face names) living in libwmss_torch:
 * parameters, AdamW state and the last logits stay in native memory; {@link #forward} hands Java a view of the
 * logits without a copy, which the fused kernel can overwrite with their gradient before {@link #backward}.
 * Not thread-safe; close it (try-with-resources) to free the native model.
 */
public final class TorchModel implements AutoCloseable {
    private MemorySegment handle;
    private final long vocab, parameters;
    /** Rows of the last forward that kept its graph (-1: none), which the next backward must match. */
    private long lastRows = -1;
    private String device = "cpu";
    private DType precision = DType.F32;

    private TorchModel(MemorySegment handle) {
        this.handle = handle;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment v = arena.allocate(8), p = arena.allocate(8);
            check(WmssTorchH.wmss_torch_model_info(handle, v, p));
            vocab = v.get(ValueLayout.JAVA_LONG, 0);
            parameters = p.get(ValueLayout.JAVA_LONG, 0);
        }
    }

    /**
     * Moves the model to a device ("cpu", "cuda", "cuda:N") in a precision: {@link DType#F32}, or {@link DType#BF16}
     * (bf16 matrix products and activations, fp32 master weights and AdamW state). Gradients and optimizer state move
     * with it. A device this build or machine lacks is a {@link dev.wmss.kernels.error.WmssException} saying why.
     * Returns this model.
     */
    public TorchModel to(String device, DType precision) {
        try (Arena arena = Arena.ofConfined()) {
            check(WmssTorchH.wmss_torch_model_to(handle(), arena.allocateFrom(device), precision.code()));
        }
        lastRows = -1;
        readPlacement();
        return this;
    }

    /** Where the model lives: "cpu" or "cuda:N" (as the native side reports it). */
    public String device() {
        return device;
    }

    /** The compute precision: F32, or BF16 (with fp32 master weights). */
    public DType precision() {
        return precision;
    }

    /** Whether Java sees this model's tensors in place (fp32 on the CPU); otherwise it gets host copies. */
    public boolean hostViews() {
        return device.equals("cpu") && precision == DType.F32;
    }

    /** Reads the placement back from the native model (after construction or a move). */
    private void readPlacement() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment type = arena.allocate(4, 4), index = arena.allocate(4, 4), p = arena.allocate(4, 4);
            check(WmssTorchH.wmss_torch_model_device(handle(), type, index, p));
            device = type.get(ValueLayout.JAVA_INT, 0) == 1 ? "cuda:" + index.get(ValueLayout.JAVA_INT, 0) : "cpu";
            precision = p.get(ValueLayout.JAVA_INT, 0) == DType.BF16.code() ? DType.BF16 : DType.F32;
        }
    }

    /** A randomly initialised model from the text of a Hugging Face config.json. */
    public static TorchModel init(String configJson, long seed) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check(WmssTorchH.wmss_torch_model_init(arena.allocateFrom(configJson), seed, out));
            return new TorchModel(out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /** A checkpoint directory: config.json plus model.safetensors (or sharded with its index). */
    public static TorchModel load(Path dir) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check(WmssTorchH.wmss_torch_model_load(arena.allocateFrom(dir.toString()), out));
            return new TorchModel(out.get(ValueLayout.ADDRESS, 0));
        }
    }

    /**
     * Loads a model straight onto a device ("cpu", "cuda:N") in a precision: its parameters are allocated there and
     * filled from the files one tensor at a time (no model is made on the host first).
     */
    public static TorchModel load(Path dir, String device, DType precision) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check(WmssTorchH.wmss_torch_model_load_to(arena.allocateFrom(dir.toString()), arena.allocateFrom(device),
                    precision.code(), out));
            TorchModel m = new TorchModel(out.get(ValueLayout.ADDRESS, 0));
            m.readPlacement();
            return m;
        }
    }

    /** Writes config.json and model.safetensors into dir (created if needed), each atomically. */
    public void save(Path dir) {
        try (Arena arena = Arena.ofConfined()) {
            check(WmssTorchH.wmss_torch_model_save(handle(), arena.allocateFrom(dir.toString())));
        }
    }

    /**
     * Writes config.json and the weights in {@code dtype}, sharded Hugging Face style (with
     * model.safetensors.index.json) when {@code maxShardBytes > 0} is exceeded.
     */
    public void save(Path dir, DType dtype, long maxShardBytes) {
        try (Arena arena = Arena.ofConfined()) {
            check(WmssTorchH.wmss_torch_model_save_as(handle(), arena.allocateFrom(dir.toString()), dtype.code(),
                    maxShardBytes));
        }
    }

    public long vocab() {
        return vocab;
    }

    public long parameterCount() {
        return parameters;
    }

    /**
     * Logits [batch·seq, vocab] fp32 for ids [batch, seq] (int64; mask 1 = token, 0 = padding, or null), in host
     * memory valid until the next forward or close: a view of the logits for an fp32 CPU model, a host copy for a
     * model on a device or in bf16 (the materialised-logits reference path).
     */
    public Logits.Host forward(MemorySegment ids, MemorySegment mask, long batch, long seq, boolean withGrad) {
        long n = Math.multiplyExact(batch, seq);
        if (ids.byteSize() < n * 8 || (mask != null && mask.byteSize() < n * 8)) {
            throw new ShapeMismatchException(Status.SHAPE, "ids/mask need " + n * 8 + " bytes for [" + batch + ", " + seq + "]");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            check(WmssTorchH.wmss_torch_model_forward(handle(), ids, mask == null ? MemorySegment.NULL : mask, batch,
                    seq, withGrad ? 1 : 0, out));
            MemorySegment logits = out.get(ValueLayout.ADDRESS, 0).reinterpret(n * vocab * 4);
            lastRows = withGrad ? n : -1;
            return Logits.of(logits, DType.F32, n, vocab);
        }
    }

    /** Accumulates parameter gradients from d loss / d logits (may be the logits view itself, overwritten). */
    public void backward(Logits gradLogits) {
        if (lastRows < 0) throw new IllegalStateException("backward without a forward (with grad) before it");
        if (gradLogits.rows() != lastRows) {
            throw new ShapeMismatchException(Status.SHAPE, "the logits gradient has " + gradLogits.rows()
                    + " rows; the last forward produced " + lastRows);
        }
        if (gradLogits.dtype() != DType.F32 || gradLogits.vocab() != vocab || gradLogits.rowStride() != vocab) {
            throw new ShapeMismatchException(Status.SHAPE, "the logits gradient must be contiguous fp32 [rows, " + vocab + "]");
        }
        check(WmssTorchH.wmss_torch_model_backward(handle(), gradLogits.data()));
    }

    public void adamW(double lr, double beta1, double beta2, double eps, double weightDecay) {
        check(WmssTorchH.wmss_torch_model_adamw(handle(), lr, beta1, beta2, eps, weightDecay));
    }

    /**
     * Greedy decoding with a KV cache: each prompt (non-empty token ids) is continued by the argmax token (the first
     * maximum on ties) until it produces eos (not returned; eos &lt; 0: never), maxNew tokens are made, or the longest
     * sequence of the batch, finished ones included, holds maxLen tokens. The prompts run once and each step only the
     * rows still decoding, with logits for the decoded positions only. Returns each row's new tokens.
     */
    public int[][] generate(int[][] prompts, int maxNew, int maxLen, int eos) {
        if (prompts.length == 0) return new int[0][];
        if (maxNew < 0 || maxLen < 1) throw new IllegalArgumentException("maxNew must be >= 0 and maxLen >= 1");
        int width = 1;
        for (int[] p : prompts) {
            if (p.length == 0) throw new IllegalArgumentException("an empty prompt: generation needs at least one token");
            width = Math.max(width, p.length);
        }
        int n = prompts.length;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ids = arena.allocate(8L * n * width, 8), lens = arena.allocate(8L * n, 8);
            MemorySegment out = arena.allocate(Math.max(8, 8L * n * maxNew), 8), outLens = arena.allocate(8L * n, 8);
            for (int i = 0; i < n; i++) {
                lens.setAtIndex(ValueLayout.JAVA_LONG, i, prompts[i].length);
                for (int t = 0; t < prompts[i].length; t++) ids.setAtIndex(ValueLayout.JAVA_LONG, (long) i * width + t, prompts[i][t]);
            }
            check(WmssTorchH.wmss_torch_model_generate(handle(), ids, lens, n, width, maxNew, maxLen, eos, out, outLens));
            int[][] made = new int[n][];
            for (int i = 0; i < n; i++) {
                made[i] = new int[(int) outLens.getAtIndex(ValueLayout.JAVA_LONG, i)];
                for (int t = 0; t < made[i].length; t++) {
                    made[i][t] = (int) out.getAtIndex(ValueLayout.JAVA_LONG, (long) i * maxNew + t);
                }
            }
            return made;
        }
    }

    /**
     * The global norm of the accumulated gradients, as {@link #step} would clip it (0 without gradients); changes
     * nothing. For one clip over several models' joint norm: step each with maxGradNorm = coef · (its norm + 1e-6).
     */
    public double gradNorm() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment norm = arena.allocate(ValueLayout.JAVA_DOUBLE);
            check(WmssTorchH.wmss_torch_model_grad_norm(handle(), norm));
            return norm.get(ValueLayout.JAVA_DOUBLE, 0);
        }
    }

    /** Clips to maxGradNorm ({@code <= 0}: no clipping), steps at lr, zeroes gradients; returns the norm before clipping. */
    public double step(double lr, double maxGradNorm) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment norm = arena.allocate(ValueLayout.JAVA_DOUBLE);
            check(WmssTorchH.wmss_torch_model_step(handle(), lr, maxGradNorm, norm));
            return norm.get(ValueLayout.JAVA_DOUBLE, 0);
        }
    }

    /**
     * Writes the AdamW state (moments and step counts) for an exact resume; of a sharded optimizer
     * ({@link ProcessGroup#shardOptimizer}), this rank's shard (every rank writes its own file).
     */
    public void saveOptimizer(Path file) {
        try (Arena arena = Arena.ofConfined()) {
            check(WmssTorchH.wmss_torch_model_save_optimizer(handle(), arena.allocateFrom(file.toString())));
        }
    }

    /** Restores the AdamW state written by {@link #saveOptimizer}; call {@link #adamW} first. */
    public void loadOptimizer(Path file) {
        try (Arena arena = Arena.ofConfined()) {
            check(WmssTorchH.wmss_torch_model_load_optimizer(handle(), arena.allocateFrom(file.toString())));
        }
    }

    /**
     * How the optimizer is sharded ({@link ProcessGroup#shardOptimizer}): the ZeRO stage (0: whole) and this rank's
     * slice [from, to) of the total flat parameter elements whose AdamW moments it keeps.
     */
    public record OptimizerShard(int stage, long from, long to, long total) {
        /** The shard's file name in a checkpoint's model directory: one per rank, zero-padded so they sort. */
        public static String fileName(int rank, int world) {
            return String.format("optimizer.zero-%05d-of-%05d.pt", rank, world);
        }
    }

    public OptimizerShard optimizerShard() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.JAVA_LONG, 4);
            check(WmssTorchH.wmss_torch_model_zero_info(handle(), out));
            long[] v = out.toArray(ValueLayout.JAVA_LONG);
            return new OptimizerShard((int) v[0], v[1], v[2], v[3]);
        }
    }

    /**
     * Restores the optimizer state from the shards in dir ({@link OptimizerShard#fileName}, written by ranks of a
     * sharded optimizer, of any world size): a sharded optimizer takes its slice, a whole one everything. Returns the
     * world size the shards were written with.
     */
    public int loadOptimizerShards(Path dir) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment world = arena.allocate(ValueLayout.JAVA_INT);
            check(WmssTorchH.wmss_torch_model_load_optimizer_shards(handle(), arena.allocateFrom(dir.toString()), world));
            return world.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /**
     * Layer activation checkpointing: a forward with gradients keeps each decoder layer's input only and runs the layer
     * again in the backward. The same gradients, bit for bit, for 4 x hidden bytes of saved activations per token and
     * layer instead of every intermediate, at the cost of one more forward of the layers.
     */
    public void setActivationCheckpointing(boolean on) {
        check(WmssTorchH.wmss_torch_model_set_checkpointing(handle(), on ? 1 : 0));
    }

    public void setTrainable(boolean trainable) {
        check(WmssTorchH.wmss_torch_model_set_trainable(handle(), trainable ? 1 : 0));
    }

    /**
     * A parameter (by Hugging Face name) and its gradient as fp32 host memory: {data, grad}. Live views for a model on
     * the CPU (writes change it); host snapshots taken now for a model on a device (valid until the next call for the
     * same name; writes do not reach the model).
     */
    public MemorySegment[] parameter(String name) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment d = arena.allocate(ValueLayout.ADDRESS), g = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment n = arena.allocate(8);
            check(WmssTorchH.wmss_torch_model_parameter(handle(), arena.allocateFrom(name), d, g, n));
            long bytes = n.get(ValueLayout.JAVA_LONG, 0) * 4;
            return new MemorySegment[]{d.get(ValueLayout.ADDRESS, 0).reinterpret(bytes),
                    g.get(ValueLayout.ADDRESS, 0).reinterpret(bytes)};
        }
    }

    /**
     * Hidden states after the final norm, [rows, width] fp32 host memory valid until the next forward: a view for
     * an fp32 CPU model; {@link MemorySegment#NULL} for a model on a device or in bf16 (the states stay there).
     */
    public record Hidden(MemorySegment data, long rows, long width) {}

    /**
     * The forward stopped at the final norm (what the head multiplies), for {@link FusedHead}. For an fp32 CPU model
     * {@link Hidden#data} views the hidden states [batch·seq, hidden_size]; for others it is NULL (no copy is made).
     * Releases an earlier {@link #forward}'s logits.
     */
    public Hidden forwardHidden(MemorySegment ids, MemorySegment mask, long batch, long seq, boolean withGrad) {
        long n = Math.multiplyExact(batch, seq);
        if (ids.byteSize() < n * 8 || (mask != null && mask.byteSize() < n * 8)) {
            throw new ShapeMismatchException(Status.SHAPE, "ids/mask need " + n * 8 + " bytes for [" + batch + ", " + seq + "]");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS), width = arena.allocate(8);
            boolean view = hostViews();
            check(WmssTorchH.wmss_torch_model_forward_hidden(handle(), ids, mask == null ? MemorySegment.NULL : mask,
                    batch, seq, withGrad ? 1 : 0, view ? out : MemorySegment.NULL, width));
            long h = width.get(ValueLayout.JAVA_LONG, 0);
            return new Hidden(view ? out.get(ValueLayout.ADDRESS, 0).reinterpret(n * h * 4) : MemorySegment.NULL, n, h);
        }
    }

    /** Accumulates the body's parameter gradients from d loss / d hidden ([rows, width] fp32, as forwardHidden gave). */
    public void backwardHidden(MemorySegment gradHidden) {
        check(WmssTorchH.wmss_torch_model_backward_hidden(handle(), gradHidden));
    }

    /**
     * Matrix-multiply FLOPs of one forward on [batch, seq] tokens (projections, attention, head); a training step of a
     * trained model costs three times that.
     */
    public double forwardFlops(long batch, long seq) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment f = arena.allocate(ValueLayout.JAVA_DOUBLE);
            check(WmssTorchH.wmss_torch_model_flops(handle(), batch, seq, f));
            return f.get(ValueLayout.JAVA_DOUBLE, 0);
        }
    }

    /** This machine's sgemm rate (FLOP/s), measured now on a large fp32 matrix product with libtorch's threads. */
    public static double sgemmPeak() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment f = arena.allocate(ValueLayout.JAVA_DOUBLE);
            check(WmssTorchH.wmss_torch_sgemm_peak(f));
            return f.get(ValueLayout.JAVA_DOUBLE, 0);
        }
    }

    /** The native handle, for {@link FusedHead}. */
    MemorySegment nativeHandle() {
        return handle();
    }

    MemorySegment handle() {
        if (handle == null) throw new InvalidArgumentException(Status.ARGUMENT, "model already closed");
        return handle;
    }

    static void check(int status) {
        WmssTorch.check(status);
    }

    @Override
    public void close() {
        if (handle == null) return;
        MemorySegment h = handle;
        handle = null;
        check(WmssTorchH.wmss_torch_model_free(h));
    }
}
