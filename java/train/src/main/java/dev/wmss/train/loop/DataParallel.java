package dev.wmss.train.loop;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.runtime.GradientSync;
import dev.wmss.runtime.ProcessGroup;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Batch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Data parallelism of the training commands on libtorch's c10d: one process per rank, started by
 * {@code wmss-native launch}, torchrun or a Slurm script, which set {@code WORLD_SIZE} and the rest of torchrun's
 * variables. {@link #process()} joins the job's {@link ProcessGroup} once per process; without a launcher it is
 * {@link #single()} and every method below is the identity (no group, no network, single-process runs unchanged).
 *
 * <p>The contract every rank keeps: the same collectives in the same order, from one thread. What the trainer
 * does with it: each rank trains on its contiguous slice of every global batch ({@link Sampler#shard}); the
 * supervised-token count of the global batch is summed before the loss, so inv_norm is 1/n over all ranks; the
 * gradients of each trained model are summed ({@link Gradients}) before clipping and the optimizer step, so every
 * rank takes the same step; loss, stop request and diagnostics are reduced once per step ({@link #finishStep}); only
 * rank 0 writes files. Files are assumed to be on a file system every rank sees (a checkpoint rank 0 writes is what
 * every rank resumes from).
 */
public final class DataParallel implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DataParallel.class);
    private static final DataParallel ONE = new DataParallel(null);
    private static DataParallel process;

    private final ProcessGroup pg;

    private DataParallel(ProcessGroup pg) {
        this.pg = pg;
    }

    /**
     * This process's: the job's group when a launcher set {@code WORLD_SIZE} (joined on the first call, which blocks
     * until every rank has joined or {@code WMSS_DIST_TIMEOUT} passes), else {@link #single()}.
     */
    public static synchronized DataParallel process() {
        if (process == null) {
            if (ProcessGroup.environmentPresent()) {
                // the backend follows the models: NCCL between GPUs (a CUDA build has no Gloo), Gloo between CPUs
                ProcessGroup.Backend backend = Placement.current().cuda() ? ProcessGroup.Backend.NCCL : ProcessGroup.Backend.GLOO;
                process = new DataParallel(ProcessGroup.fromEnvironment(backend, ProcessGroup.timeoutFromEnvironment()));
                LOG.info("data parallel: rank {} of {} ({})", process.rank(), process.worldSize(),
                        backend.name().toLowerCase(java.util.Locale.ROOT));
            } else {
                process = ONE;
            }
        }
        return process;
    }

    /** Leaves the job's group, if this process joined one (at the end of a program; safe after a failure). */
    public static synchronized void leave() {
        if (process != null) process.close();
        process = null;
    }

    /** One process: rank 0 of 1, no group. */
    public static DataParallel single() {
        return ONE;
    }

    /** Over a group the caller owns (and closes). */
    public static DataParallel of(ProcessGroup pg) {
        return new DataParallel(pg);
    }

    /** This process's rank as the launcher's {@code RANK} says, without joining (0 without a launcher). */
    public static int environmentRank() {
        if (!ProcessGroup.environmentPresent()) return 0;
        String r = System.getenv("RANK");
        try {
            return r == null || r.isBlank() ? 0 : Integer.parseInt(r.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("RANK=" + r + " is not a rank");
        }
    }

    public int rank() {
        return pg == null ? 0 : pg.rank();
    }

    public int worldSize() {
        return pg == null ? 1 : pg.worldSize();
    }

    /** Rank 0: the one that writes run files, metrics, checkpoints and final models. */
    public boolean isRoot() {
        return rank() == 0;
    }

    public boolean distributed() {
        return pg != null && pg.worldSize() > 1;
    }

    /**
     * This rank's part [from, to) of n items handed out in whole units of {@code unit} (e.g. batches, so that every
     * batch is the one a single process makes): units [u·r/W, u·(r+1)/W) of u = ceil(n / unit).
     */
    public int[] range(int n, int unit) {
        return range(n, unit, rank(), worldSize());
    }

    static int[] range(int n, int unit, int rank, int world) {
        if (unit < 1) throw new IllegalArgumentException("unit must be >= 1");
        long units = (n + (long) unit - 1) / unit;
        long from = Math.min(n, units * rank / world * unit), to = Math.min(n, units * (rank + 1) / world * unit);
        return new int[]{(int) from, (int) to};
    }

    /** Every rank starts from rank 0's weights. */
    public void broadcastParameters(TorchModel m) {
        if (pg != null) pg.broadcastParameters(m, 0);
    }

    /** Element-wise sums over ranks (a copy; the values themselves in one process). */
    public long[] sum(long... values) {
        long[] v = values.clone();
        if (pg != null) pg.allReduce(v, ProcessGroup.Op.SUM);
        return v;
    }

    /** Element-wise maxima over ranks (a copy; the values themselves in one process). */
    public long[] max(long... values) {
        long[] v = values.clone();
        if (pg != null) pg.allReduce(v, ProcessGroup.Op.MAX);
        return v;
    }

    /** ZeRO: the model's optimizer sharded over the ranks at stage (nothing on one process or at stage 0). */
    public void shardOptimizer(TorchModel m, int stage) {
        if (stage > 0 && distributed()) pg.shardOptimizer(m, stage);
    }

    public void barrier() {
        if (pg != null) pg.barrier();
    }

    /** Every rank's values concatenated in rank order (with {@link #range}: index order). */
    public double[] gather(double[] local) {
        if (pg == null) return local.clone();
        double[][] parts = pg.allGather(local);
        int n = 0;
        for (double[] p : parts) n += p.length;
        double[] all = new double[n];
        int at = 0;
        for (double[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    /** Rank 0's values on every rank ({@code onRoot} is read on rank 0 only; others may pass null). */
    public int[] fromRoot(int[] onRoot) {
        if (pg == null) return onRoot.clone();
        byte[] bytes = null;
        if (isRoot()) {
            ByteBuffer b = ByteBuffer.allocate(4 * onRoot.length);
            for (int v : onRoot) b.putInt(v);
            bytes = b.array();
        }
        ByteBuffer got = ByteBuffer.wrap(pg.broadcastBytes(bytes, 0));
        int[] out = new int[got.remaining() / 4];
        for (int i = 0; i < out.length; i++) out[i] = got.getInt();
        return out;
    }

    /**
     * The gradient all-reduce of the trained models (in this order, the same on every rank), overlapped with the
     * last micro-batch's backward. Create it after the objective (which freezes what it does not train); close it
     * before the models.
     */
    public Gradients gradients(List<TorchModel> trained) {
        return new Gradients(trained);
    }

    /**
     * The batch with every label ignored: zero loss and zero gradient, but the same forward and backward graph. A
     * rank without data in a step (fewer examples than ranks) trains on this, so its backward fires the gradient
     * hooks that launch the all-reduce buckets exactly as the other ranks' do: collectives must match in order.
     */
    public static Batch withoutTargets(Batch b) {
        long[] none = new long[b.labels().length];
        java.util.Arrays.fill(none, Batch.IGNORE_INDEX);
        return new Batch(b.ids(), b.mask(), none, b.examples(), b.batch(), b.seq());
    }

    /** What {@link #finishStep} returns: the global loss, whether any rank asked to stop, global diagnostics. */
    public record StepTotals(double loss, boolean stop, Map<String, Object> diagnostics) {}

    /**
     * The one reduction at the end of a step: the sum of the ranks' losses (each already normalised by the global
     * count, so the sum is the single-process loss), whether any rank was asked to stop (so all stop at the same
     * step; Ctrl-C reaches the ranks at different moments), and, on log steps (diagnostics != null on every rank),
     * the diagnostics of the ranks' last micro-batches: weighted means by their supervised tokens (weight), except
     * {@code grad_norm*} keys, which are norms (square root of the sum of squares), and {@code grad_rms*} keys, root
     * mean squares over tokens (square root of the weighted mean of squares). A rank without data this step
     * passes empty diagnostics and weight 0.
     */
    public StepTotals finishStep(double loss, boolean stop, Map<String, Object> diagnostics, long weight) {
        if (pg == null) return new StepTotals(loss, stop, diagnostics);
        double[] v = {loss, stop ? 1 : 0};
        pg.allReduce(v, ProcessGroup.Op.SUM);
        Map<String, Object> merged = null;
        if (diagnostics != null) {
            JsonObject mine = new JsonObject();
            mine.addProperty("weight", weight);
            JsonObject values = new JsonObject();
            for (var e : diagnostics.entrySet()) {
                if (e.getValue() instanceof Number n) values.addProperty(e.getKey(), n.doubleValue());
            }
            mine.add("values", values);
            byte[][] all = pg.allGather(new Gson().toJson(mine).getBytes(StandardCharsets.UTF_8));
            List<JsonObject> parts = new ArrayList<>();
            for (byte[] b : all) parts.add(JsonParser.parseString(new String(b, StandardCharsets.UTF_8)).getAsJsonObject());
            merged = mergeDiagnostics(parts);
        }
        return new StepTotals(v[0], v[1] > 0, merged);
    }

    /** Ranks' {"weight": w, "values": {key: v}} to global values, in first-seen key order. */
    static Map<String, Object> mergeDiagnostics(List<JsonObject> ranks) {
        Map<String, double[]> acc = new LinkedHashMap<>(); // key -> {weighted sum (or sum of squares), weight}
        for (JsonObject r : ranks) {
            double w = r.get("weight").getAsDouble();
            for (var e : r.getAsJsonObject("values").entrySet()) {
                double x = e.getValue().getAsDouble();
                double[] a = acc.computeIfAbsent(e.getKey(), k -> new double[2]);
                if (e.getKey().startsWith("grad_norm")) {
                    a[0] += x * x;
                } else if (e.getKey().startsWith("grad_rms")) { // root mean square over tokens: a weighted mean of squares
                    a[0] += w * x * x;
                    a[1] += w;
                } else {
                    a[0] += w * x;
                    a[1] += w;
                }
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        for (var e : acc.entrySet()) {
            double[] a = e.getValue();
            out.put(e.getKey(), e.getKey().startsWith("grad_norm") ? Math.sqrt(a[0])
                    : e.getKey().startsWith("grad_rms") ? (a[1] > 0 ? Math.sqrt(a[0] / a[1]) : 0.0)
                    : a[1] > 0 ? a[0] / a[1] : 0.0);
        }
        return out;
    }

    /** Leaves the group (no collective: safe after a failure). The single instance has nothing to close. */
    @Override
    public void close() {
        if (pg != null) pg.close();
    }

    @Override
    public String toString() {
        return pg == null ? "one process" : "rank " + rank() + " of " + worldSize();
    }

    /**
     * One {@link GradientSync} per trained model: {@link #prepare()} before the last micro-batch of a step,
     * {@link #sync()} after it and before the optimizer step. Every rank must run the same graph each step (a rank
     * without data runs a {@link #withoutTargets} batch), so that the buckets launched from inside backward, and the
     * syncs' own collectives, come in the same order on every rank (models too: strong's backward, weak's, then
     * strong's sync, weak's; a mismatch is not detected by Gloo, it corrupts or aborts). The overlap
     * works best when every gradient contribution is in place by the end of that micro-batch's backward (the fused
     * head writes the head's gradient before the body's backward, which is fine); gradient added after it is still
     * reduced, by the sync's final sweep, at the cost of a second all-reduce of the buckets concerned.
     */
    public final class Gradients implements AutoCloseable {
        private final List<GradientSync> syncs = new ArrayList<>();

        private Gradients(List<TorchModel> trained) {
            if (pg == null) return;
            try {
                for (TorchModel m : trained) syncs.add(pg.gradientSync(m, 0, true));
            } catch (RuntimeException e) {
                close();
                throw e;
            }
        }

        public void prepare() {
            for (GradientSync s : syncs) s.prepare();
        }

        /** Sums the gradients over ranks (models in order); returns the milliseconds spent waiting for them. */
        public double sync() {
            double seconds = 0;
            for (GradientSync s : syncs) seconds += s.sync(ProcessGroup.Op.SUM);
            return 1e3 * seconds;
        }

        @Override
        public void close() {
            for (GradientSync s : syncs) s.close();
            syncs.clear();
        }
    }
}
