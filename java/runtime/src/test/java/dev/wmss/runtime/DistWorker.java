package dev.wmss.runtime;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One rank of {@link DistributedTest}, run as its own JVM with torchrun's environment. Checks its results against
 * values it computes locally and exits 0 only if they hold (a failed check prints why and exits 1).
 * {@code DistWorker collectives <tiny model dir>}, {@code DistWorker dies}, {@code DistWorker hangs}.
 */
public final class DistWorker {
    private DistWorker() {}

    public static void main(String[] args) throws Exception {
        try (ProcessGroup pg = ProcessGroup.fromEnvironment()) {
            System.out.println("joined " + pg);
            switch (args[0]) {
                case "collectives" -> {
                    vectors(pg);
                    gradients(pg, Path.of(args[1]));
                    wdjt(pg, Path.of(args[1]));
                }
                case "dies" -> dies(pg);
                case "hangs" -> hangs(pg);
                default -> throw new IllegalArgumentException(args[0]);
            }
        }
        System.out.println("done");
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("CHECK FAILED: " + what);
            System.out.flush();
            Runtime.getRuntime().halt(1);
        }
    }

    static void vectors(ProcessGroup pg) {
        int r = pg.rank(), w = pg.worldSize();
        check(w == 2, "world size 2");
        double[] d = {r + 1, 0.25 * r, -r};
        pg.allReduce(d, ProcessGroup.Op.SUM);
        check(Arrays.equals(d, new double[]{3, 0.25, -1}), "double sum " + Arrays.toString(d));
        long[] n = {100 + r, 1L << 40, -5 * r};
        pg.allReduce(n, ProcessGroup.Op.MAX);
        check(Arrays.equals(n, new long[]{101, 1L << 40, 0}), "long max " + Arrays.toString(n));
        check(pg.sum(7L * (r + 1)) == 21 && pg.sum(0.5) == 1.0, "scalar sums");
        float[] f = {r, 2 * r + 1};
        pg.allReduce(f, ProcessGroup.Op.AVG);
        check(Arrays.equals(f, new float[]{0.5f, 2f}), "float avg " + Arrays.toString(f));

        long[] b = {r, r * 10L, 42};
        pg.broadcast(b, 1);
        check(Arrays.equals(b, new long[]{1, 10, 42}), "broadcast from rank 1 " + Arrays.toString(b));
        byte[] payload = new byte[10_007];
        new SplittableRandom(3).nextBytes(payload);
        byte[] got = pg.broadcastBytes(r == 0 ? payload : null, 0);
        check(Arrays.equals(got, payload), "broadcastBytes");
        check(pg.broadcastBytes(r == 0 ? new byte[0] : null, 0).length == 0, "empty broadcastBytes");

        check(Arrays.equals(pg.allGather(5L + r), new long[]{5, 6}), "allGather(long)");
        float[][] g = pg.allGather(r == 0 ? new float[]{1, 2, 3} : new float[0]);
        check(Arrays.equals(g[0], new float[]{1, 2, 3}) && g[1].length == 0, "allGather 3 + 0");
        g = pg.allGather(r == 0 ? new float[]{9} : new float[]{4, 5, 6, 7, 8});
        check(Arrays.equals(g[0], new float[]{9}) && Arrays.equals(g[1], new float[]{4, 5, 6, 7, 8}), "allGather 1 + 5");
        g = pg.allGather(new float[0]);
        check(g[0].length == 0 && g[1].length == 0, "allGather 0 + 0");
        double[][] h = pg.allGather(r == 0 ? new double[]{Math.PI, 1e300} : new double[]{-Math.E});
        check(Arrays.equals(h[0], new double[]{Math.PI, 1e300}) && Arrays.equals(h[1], new double[]{-Math.E}),
                "allGather doubles, exact");
        byte[][] bytes = pg.allGather(r == 0 ? "rank zero".getBytes(StandardCharsets.UTF_8) : new byte[0]);
        check(new String(bytes[0], StandardCharsets.UTF_8).equals("rank zero") && bytes[1].length == 0, "allGather bytes");
        pg.barrier();
        System.out.println("vectors ok");
    }

    /** Parameter names from the safetensors header. */
    static List<String> names(Path dir) throws IOException {
        byte[] all = Files.readAllBytes(dir.resolve("model.safetensors"));
        int len = (int) ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(all, 8, len, StandardCharsets.UTF_8);
        Matcher m = Pattern.compile("\"([^\"]+)\"\\s*:\\s*\\{\\s*\"dtype\"").matcher(header);
        List<String> out = new ArrayList<>();
        while (m.find()) out.add(m.group(1));
        return out;
    }

    /** Forward on rank src's batch and backward from a fixed random gradient of the logits (accumulates). */
    static void microBatch(TorchModel m, int src, int micro) {
        int batch = 2 + src, seq = 5 + 2 * micro; // shapes differ by rank and micro-batch
        SplittableRandom rnd = new SplittableRandom(1000 * src + micro);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment ids = arena.allocate(8L * batch * seq);
            for (int i = 0; i < batch * seq; i++) ids.setAtIndex(ValueLayout.JAVA_LONG, i, rnd.nextInt((int) m.vocab()));
            var z = m.forward(ids, null, batch, seq, true);
            MemorySegment data = z.data();
            for (long i = 0; i < z.rows() * z.vocab(); i++) data.setAtIndex(ValueLayout.JAVA_FLOAT, i, (float) rnd.nextGaussian());
            m.backward(z);
        }
    }

    /** A gradient contribution outside autograd: adds 0.01·(i + 1) to the gradients of the final norm and the head. */
    static void addLate(TorchModel m) {
        for (String n : List.of("model.norm.weight", "lm_head.weight")) {
            MemorySegment g = m.parameter(n)[1];
            for (long i = 0; i < g.byteSize() / 4; i++) {
                g.setAtIndex(ValueLayout.JAVA_FLOAT, i, g.getAtIndex(ValueLayout.JAVA_FLOAT, i) + 0.01f * (i + 1));
            }
        }
    }

    /** Every gradient of m equals scale * the same gradient of ref (fp32 tolerance). */
    static void sameGradients(TorchModel m, TorchModel ref, List<String> names, double scale, String what) {
        for (String n : names) {
            float[] a = m.parameter(n)[1].toArray(ValueLayout.JAVA_FLOAT), b = ref.parameter(n)[1].toArray(ValueLayout.JAVA_FLOAT);
            double maxAbs = 0;
            for (float v : b) maxAbs = Math.max(maxAbs, Math.abs(v));
            check(maxAbs > 0, what + ": reference gradient of " + n + " is zero");
            for (int i = 0; i < a.length; i++) {
                double want = scale * b[i];
                check(Math.abs(a[i] - want) <= 1e-6 * maxAbs + 1e-5 * Math.abs(want),
                        what + ": " + n + "[" + i + "] = " + a[i] + ", expected " + want);
            }
        }
    }

    static void gradients(ProcessGroup pg, Path dir) throws IOException {
        List<String> names = names(dir);
        check(names.size() > 10, "parameter names " + names);
        int r = pg.rank();
        try (TorchModel ref = TorchModel.load(dir)) { // the single-process computation of the global batch
            for (int src = 0; src < 2; src++) microBatch(ref, src, 0);
            try (TorchModel m = TorchModel.load(dir)) { // one-shot, after backward
                microBatch(m, r, 0);
                pg.allReduceGradients(m, ProcessGroup.Op.SUM);
                sameGradients(m, ref, names, 1, "allReduceGradients SUM");
            }
            try (TorchModel m = TorchModel.load(dir)) {
                microBatch(m, r, 0);
                pg.allReduceGradients(m, ProcessGroup.Op.AVG);
                sameGradients(m, ref, names, 0.5, "allReduceGradients AVG");
            }
            try (TorchModel m = TorchModel.load(dir); GradientSync sync = pg.gradientSync(m, 4096, true)) {
                check(sync.buckets() > 5, "small buckets give many: " + sync.buckets());
                check(sync.elements() == m.parameterCount(), "every parameter is in a bucket");
                for (int step = 0; step < 2; step++) { // the plan is reused
                    for (String n : names) m.parameter(n)[1].fill((byte) 0); // as the optimizer step does
                    sync.prepare();
                    microBatch(m, r, 0);
                    double s = sync.sync(ProcessGroup.Op.SUM);
                    check(s >= 0, "wait seconds");
                    // The head's bucket is launched from inside backward; the embeddings' only once it ends.
                    check(sync.overlappedBuckets() > 0 && sync.overlappedBuckets() <= sync.buckets(),
                            "buckets launched during backward: " + sync.overlappedBuckets() + " of " + sync.buckets());
                    sameGradients(m, ref, names, 1, "overlapped buckets, step " + step);
                    System.out.printf("step %d: %d of %d buckets launched during backward, %.2f ms in sync%n", step,
                            sync.overlappedBuckets(), sync.buckets(), 1e3 * s);
                }
            }
        }
        // Gradient added after backward (as a head gradient written by hand may be), on rank 1 only: to the final
        // norm, whose bucket left from inside backward, and to the head, whose bucket leaves in sync. Sync's sweep
        // reduces the late part too; rank 0 has none and joins with zeros.
        try (TorchModel ref = TorchModel.load(dir); TorchModel m = TorchModel.load(dir);
             GradientSync sync = pg.gradientSync(m, 4096, true)) {
            for (int src = 0; src < 2; src++) microBatch(ref, src, 0);
            addLate(ref);
            for (int step = 0; step < 2; step++) {
                for (String n : names) m.parameter(n)[1].fill((byte) 0);
                sync.prepare();
                microBatch(m, r, 0);
                if (r == 1 && step == 0) addLate(m);
                sync.sync(ProcessGroup.Op.SUM);
                if (step == 0) sameGradients(m, ref, names, 1, "late contributions");
            }
            check(sync.overlappedBuckets() > 0, "still overlapped");
        }
        try (TorchModel ref = TorchModel.load(dir)) { // gradient accumulation: 2 ranks x 2 micro-batches
            for (int src = 0; src < 2; src++) for (int micro = 0; micro < 2; micro++) microBatch(ref, src, micro);
            try (TorchModel m = TorchModel.load(dir); GradientSync sync = pg.gradientSync(m, 0, true)) {
                check(sync.buckets() == 1, "the tiny model fits one default bucket");
                microBatch(m, r, 0);
                sync.prepare(); // only before the last micro-batch
                microBatch(m, r, 1);
                sync.sync(ProcessGroup.Op.SUM);
                sameGradients(m, ref, names, 1, "accumulated micro-batches");
                check(sync.overlappedBuckets() == 1, "the one bucket was launched from inside backward");
            }
        }
        String config = Files.readString(dir.resolve("config.json"));
        try (TorchModel m = TorchModel.init(config, 77 + r); TorchModel want = TorchModel.init(config, 77)) {
            pg.broadcastParameters(m, 0);
            for (String n : names) {
                check(Arrays.equals(m.parameter(n)[0].toArray(ValueLayout.JAVA_FLOAT),
                        want.parameter(n)[0].toArray(ValueLayout.JAVA_FLOAT)), "broadcastParameters: " + n);
            }
            // One data-parallel AdamW step keeps the ranks identical.
            m.adamW(1e-2, 0.9, 0.999, 1e-8, 0.1);
            try (GradientSync sync = pg.gradientSync(m, 0, false)) {
                microBatch(m, r, 0);
                sync.sync(ProcessGroup.Op.SUM);
                check(sync.overlappedBuckets() == 0, "no overlap asked");
                m.step(1e-2, 1.0);
            }
            for (String n : names) {
                double[] sums = {0};
                for (float v : m.parameter(n)[0].toArray(ValueLayout.JAVA_FLOAT)) sums[0] += v;
                double[] max = sums.clone(), min = sums.clone();
                pg.allReduce(max, ProcessGroup.Op.MAX);
                pg.allReduce(min, ProcessGroup.Op.MIN);
                check(max[0] == min[0], "ranks identical after a step: " + n);
            }
        }
        System.out.println("gradients ok");
    }

    /**
     * One WD-JT step the way the trainer will take it: each rank its shard of the global batch, the supervised-token
     * count all-reduced before the fused loss (inv_norm = 1/n of the global batch), both models' gradient buckets
     * all-reduced (SUM) during backward. Loss and both models' gradients equal one process on the whole batch.
     */
    static void wdjt(ProcessGroup pg, Path dir) throws IOException {
        int seq = 6, vocab, r = pg.rank();
        List<String> names = names(dir);
        String weakConfig = Files.readString(dir.resolve("config.json"));
        try (Arena arena = Arena.ofConfined(); TorchModel probe = TorchModel.load(dir)) {
            vocab = (int) probe.vocab();
            SplittableRandom rnd = new SplittableRandom(42); // the same global batch on every rank
            long[] ids = new long[3 * seq], labels = new long[3 * seq];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = rnd.nextInt(vocab);
                labels[i] = rnd.nextInt(4) == 0 ? IGNORE : rnd.nextInt(vocab);
            }
            long n = Arrays.stream(labels).filter(y -> y >= 0).count();
            // single process: the global batch of 3 sequences
            double wantLoss;
            try (TorchModel s1 = TorchModel.load(dir); TorchModel w1 = TorchModel.init(weakConfig, 9);
                 TorchModel s2 = TorchModel.load(dir); TorchModel w2 = TorchModel.init(weakConfig, 9)) {
                wantLoss = wdjtMicro(arena, s1, w1, ids, labels, 0, 3, seq, 1f / n);
                // this rank's shard: rank 0 sequences [0, 1), rank 1 [1, 3) (contiguous, unequal)
                int lo = r == 0 ? 0 : 1, hi = r == 0 ? 1 : 3;
                long local = Arrays.stream(labels, lo * seq, hi * seq).filter(y -> y >= 0).count();
                long global = pg.sum(local);
                check(global == n, "global supervised tokens " + global + " vs " + n);
                try (GradientSync gs = pg.gradientSync(s2, 2048, true); GradientSync gw = pg.gradientSync(w2, 2048, true)) {
                    gs.prepare();
                    gw.prepare();
                    double part = wdjtMicro(arena, s2, w2, ids, labels, lo, hi, seq, 1f / global);
                    gs.sync(ProcessGroup.Op.SUM); // strong then weak: the same order on every rank
                    gw.sync(ProcessGroup.Op.SUM);
                    double loss = pg.sum(part);
                    check(Math.abs(loss - wantLoss) <= 1e-5 * Math.abs(wantLoss), "WD-JT loss " + loss + " vs " + wantLoss);
                }
                sameGradients(s2, s1, names, 1, "WD-JT strong");
                sameGradients(w2, w1, names, 1, "WD-JT weak");
            }
        }
        System.out.println("wdjt ok");
    }

    static final long IGNORE = -100;

    /**
     * The WD-JT loss in plain Java (double), independent of the kernels: z_mix = λ·z_s + (1−λ)·z_w; per supervised
     * row lse − z_mix[y]; in place z_s ← λ·g·invNorm, z_w ← (1−λ)·g·invNorm with g = softmax(z_mix) − onehot(y).
     * Returns invNorm · Σ loss.
     */
    static double mixedCrossEntropy(MemorySegment zs, MemorySegment zw, long[] labels, int vocab, double lambda,
                                    double invNorm) {
        double total = 0;
        double[] mix = new double[vocab];
        for (int r = 0; r < labels.length; r++) {
            long base = (long) r * vocab;
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < vocab; v++) {
                mix[v] = lambda * zs.getAtIndex(ValueLayout.JAVA_FLOAT, base + v)
                        + (1 - lambda) * zw.getAtIndex(ValueLayout.JAVA_FLOAT, base + v);
                max = Math.max(max, mix[v]);
            }
            double sum = 0;
            for (int v = 0; v < vocab; v++) sum += Math.exp(mix[v] - max);
            double lse = max + Math.log(sum);
            long y = labels[r];
            if (y != IGNORE) total += lse - mix[(int) y];
            for (int v = 0; v < vocab; v++) {
                double g = y == IGNORE ? 0 : Math.exp(mix[v] - lse) - (v == y ? 1 : 0);
                zs.setAtIndex(ValueLayout.JAVA_FLOAT, base + v, (float) (lambda * g * invNorm));
                zw.setAtIndex(ValueLayout.JAVA_FLOAT, base + v, (float) ((1 - lambda) * g * invNorm));
            }
        }
        return total * invNorm;
    }

    /** Sequences [lo, hi) of the batch through both models, the mixed loss's gradients in place, both backwards. */
    static double wdjtMicro(Arena arena, TorchModel strong, TorchModel weak, long[] ids, long[] labels, int lo, int hi,
                            int seq, float invNorm) {
        MemorySegment i = arena.allocateFrom(ValueLayout.JAVA_LONG, Arrays.copyOfRange(ids, lo * seq, hi * seq));
        var zs = strong.forward(i, null, hi - lo, seq, true);
        var zw = weak.forward(i, null, hi - lo, seq, true);
        double loss = mixedCrossEntropy(zs.data(), zw.data(), Arrays.copyOfRange(labels, lo * seq, hi * seq),
                (int) zs.vocab(), 0.5, invNorm);
        strong.backward(zs);
        weak.backward(zw);
        return loss;
    }

    static void dies(ProcessGroup pg) throws InterruptedException {
        pg.barrier();
        if (pg.rank() == 1) {
            System.out.println("rank 1 exits without leaving the group");
            System.out.flush();
            Runtime.getRuntime().halt(0);
        }
        Thread.sleep(500);
        expectFailure(pg);
    }

    static void hangs(ProcessGroup pg) throws InterruptedException {
        pg.barrier();
        if (pg.rank() == 1) {
            System.out.println("rank 1 hangs");
            System.out.flush();
            Thread.sleep(120_000);
            return;
        }
        expectFailure(pg);
    }

    static void expectFailure(ProcessGroup pg) {
        long t0 = System.nanoTime();
        try {
            pg.allReduce(new double[]{1}, ProcessGroup.Op.SUM);
            check(false, "the collective succeeded without its peer");
        } catch (DistributedException e) {
            System.out.printf("collective failed after %d ms: %s%n", (System.nanoTime() - t0) / 1_000_000, e.getMessage());
        }
        try {
            pg.barrier();
            check(false, "a broken group still works");
        } catch (DistributedException e) {
            check(e.getMessage().contains("cannot be used again"), "later calls fail at once: " + e.getMessage());
        }
    }
}
