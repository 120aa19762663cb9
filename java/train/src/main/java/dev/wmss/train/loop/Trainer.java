package dev.wmss.train.loop;

import dev.wmss.kernels.DType;
import dev.wmss.kernels.Entropy;
import dev.wmss.kernels.Logits;
import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.CeMixArgs;
import dev.wmss.kernels.torch.LrSchedule;
import dev.wmss.kernels.torch.TorchModel;
import dev.wmss.train.data.Batch;
import dev.wmss.train.data.Batcher;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The training loop of SFT and WD-JT. Step s of epoch e trains on the examples at positions
 * [b·B, (b+1)·B) of the epoch's seeded permutation of {@code active}, so a resumed run sees the same batches and,
 * with the AdamW state restored, reproduces the loss curve. Writes out/metrics.jsonl, out/checkpoint/ every
 * checkpointEvery steps (and on Ctrl-C), and the final models to out/strong (and out/weak).
 */
public final class Trainer {
    public record Result(long steps, double lastLoss, Path strong, Path weak, boolean interrupted) {}

    private Trainer() {}

    public static Result run(TrainConfig cfg, Batcher data, int[] active, Path strongInit, Path weakInit, Path out,
                             boolean resume) {
        boolean wmss = cfg.mode() == TrainConfig.Mode.WMSS;
        if (wmss && weakInit == null) throw new IllegalArgumentException("WD-JT needs a weak model");
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + out, e);
        }
        if (data.dropped() > 0) {
            System.out.println("warning: " + data.dropped() + " of " + data.size() + " examples have no answer token within"
                    + " max-len " + data.maxLen() + " (their prompts fill it); raise --max-len");
        }
        int perStep = cfg.batchSize() * cfg.accum();
        long perEpoch = (active.length + perStep - 1) / perStep, total = perEpoch * cfg.epochs();
        LrSchedule lr = new LrSchedule(cfg.lr(), (long) (cfg.warmupRatio() * total), total, 0);
        Path from = resume ? Checkpoints.find(out) : null;
        long start = 0;
        if (from != null) {
            Checkpoints.State st = Checkpoints.state(from);
            if (!st.mode().equals(cfg.mode().name())) {
                throw new IllegalStateException("checkpoint in " + out + " is from a " + st.mode() + " run, not " + cfg.mode());
            }
            start = st.step();
        }
        try {
            Files.writeString(out.resolve("train.json"), Checkpoints.GSON.toJson(cfg) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out.resolve("train.json"), e);
        }
        Metrics metrics = new Metrics(out.resolve("metrics.jsonl"));
        metrics.truncateAfter(start);
        Interrupt interrupt = Interrupt.install();
        try (TorchModel strong = TorchModel.load(from != null ? from.resolve("strong") : strongInit);
             TorchModel weak = wmss ? TorchModel.load(from != null ? from.resolve("weak") : weakInit) : null) {
            strong.adamW(cfg.lr(), 0.9, 0.95, 1e-8, cfg.weightDecay());
            if (weak != null) {
                weak.adamW(cfg.lr(), 0.9, 0.95, 1e-8, cfg.weightDecay());
                if (cfg.freezeWeak()) weak.setTrainable(false);
            }
            if (from != null) {
                strong.loadOptimizer(from.resolve("strong/optimizer.pt"));
                if (weak != null) weak.loadOptimizer(from.resolve("weak/optimizer.pt"));
                System.out.println("resuming " + out + " at step " + start + "/" + total);
            }
            double loss = Double.NaN;
            long step = start;
            boolean interrupted = false;
            while (step < total) {
                int epoch = (int) (step / perEpoch);
                int[] order = Batcher.epochOrder(active.length, cfg.seed(), epoch);
                int b0 = (int) ((step % perEpoch) * perStep), n = Math.min(perStep, active.length - b0);
                long t0 = System.nanoTime();
                Batch[] micro = new Batch[(n + cfg.batchSize() - 1) / cfg.batchSize()];
                int supervised = 0, tokens = 0;
                for (int k = 0; k < micro.length; k++) {
                    int[] which = new int[Math.min(cfg.batchSize(), n - k * cfg.batchSize())];
                    for (int i = 0; i < which.length; i++) which[i] = active[order[b0 + k * cfg.batchSize() + i]];
                    micro[k] = data.batch(which);
                    supervised += micro[k].supervised();
                    tokens += micro[k].tokens();
                }
                boolean logNow = (step + 1) % cfg.logEvery() == 0 || step + 1 == total;
                Map<String, Object> m = new LinkedHashMap<>();
                double rate = lr.at(step);
                float invNorm = 1f / Math.max(1, supervised);
                loss = 0;
                for (int k = 0; k < micro.length; k++) {
                    boolean last = k == micro.length - 1;
                    try (Arena arena = Arena.ofConfined()) { // this micro-batch's ids, labels and scratch
                        loss += wmss ? wmssMicro(cfg, micro[k], strong, weak, invNorm, arena, logNow && last ? m : null)
                                : sftMicro(micro[k], strong, invNorm, arena);
                    }
                }
                m.put("grad_norm", strong.step(rate, cfg.maxGradNorm()));
                if (wmss && !cfg.freezeWeak()) weak.step(rate, cfg.maxGradNorm());
                step++;
                double ms = (System.nanoTime() - t0) / 1e6, tps = tokens / (ms / 1e3);
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("step", step);
                row.put("epoch", epoch);
                row.put("loss", loss);
                row.put("lr", rate);
                row.put("ms", ms);
                row.put("tok_s", tps);
                row.putAll(m);
                metrics.record(row);
                if (logNow) metrics.log(cfg.mode().name().toLowerCase(), step, total, loss, (double) m.getOrDefault("grad_norm", 0.0), rate, ms, tps);
                else metrics.progress(cfg.mode().name().toLowerCase(), step, total, loss);
                boolean stop = interrupt.requested();
                if (stop || (cfg.checkpointEvery() > 0 && step % cfg.checkpointEvery() == 0 && step < total)) {
                    Checkpoints.save(out, new Checkpoints.State(step, cfg.mode().name()), strong, weak);
                }
                if (stop) {
                    metrics.end();
                    System.out.println("interrupted: checkpoint saved at step " + step + "; continue with --resume");
                    interrupted = true;
                    break;
                }
            }
            metrics.end();
            if (!interrupted) {
                strong.save(out.resolve("strong"));
                if (weak != null) weak.save(out.resolve("weak"));
            }
            return new Result(step, loss, out.resolve("strong"), weak != null ? out.resolve("weak") : null, interrupted);
        } finally {
            interrupt.done();
        }
    }

    /** Forward, fused loss (lambda = 1, in place) and backward of one micro-batch; returns its share of the loss. */
    private static double sftMicro(Batch b, TorchModel strong, float invNorm, Arena arena) {
        MemorySegment ids = longs(arena, b.ids()), mask = longs(arena, b.mask()), labels = longs(arena, b.labels());
        Logits.Host z = strong.forward(ids, mask, b.batch(), b.seq(), true);
        double loss = CeMix.of(z, z, labels).lambda(1f).invNorm(invNorm).gradStrong(z).run();
        strong.backward(z);
        return loss;
    }

    /** One WD-JT micro-batch; with diag != null also the paper's diagnostics (entropies, non-target logit, logit-grad norm). */
    private static double wmssMicro(TrainConfig cfg, Batch b, TorchModel strong, TorchModel weak, float invNorm,
                                    Arena arena, Map<String, Object> diag) {
        MemorySegment ids = longs(arena, b.ids()), mask = longs(arena, b.mask()), labels = longs(arena, b.labels());
        Logits.Host zs = strong.forward(ids, mask, b.batch(), b.seq(), true);
        Logits.Host zw = weak.forward(ids, mask, b.batch(), b.seq(), !cfg.freezeWeak());
        long rows = zs.rows();
        MemorySegment mixedH = diag != null ? arena.allocate(4 * rows, 8) : null;
        if (diag != null) {
            diag.put("entropy_strong", meanEntropy(zs, labels, arena));
            diag.put("entropy_weak", meanEntropy(zw, labels, arena));
            diag.put("non_target_logit_strong", meanNonTargetLogit(zs, labels));
        }
        CeMixArgs.Builder call = CeMix.of(zs, zw, labels).lambda(cfg.lambda()).invNorm(invNorm).gradStrong(zs);
        if (!cfg.freezeWeak()) call.gradWeak(zw);
        if (mixedH != null) call.entropy(mixedH);
        double loss = call.run();
        if (diag != null) {
            diag.put("entropy_mixed", meanOverLabelled(mixedH, labels, rows));
            diag.put("grad_norm_strong_logits", norm(zs));
        }
        strong.backward(zs);
        if (!cfg.freezeWeak()) weak.backward(zw);
        return loss;
    }

    static MemorySegment longs(Arena arena, long[] v) {
        return arena.allocateFrom(ValueLayout.JAVA_LONG, v);
    }

    private static double meanEntropy(Logits z, MemorySegment labels, Arena arena) {
        MemorySegment h = arena.allocate(4 * z.rows(), 8);
        Entropy.compute(z, null, h, null, null, true);
        return meanOverLabelled(h, labels, z.rows());
    }

    private static double meanOverLabelled(MemorySegment v, MemorySegment labels, long rows) {
        double s = 0;
        long n = 0;
        for (long r = 0; r < rows; r++) {
            if (labels.getAtIndex(ValueLayout.JAVA_LONG, r) == CeMix.IGNORE_INDEX) continue;
            s += v.getAtIndex(ValueLayout.JAVA_FLOAT, r);
            n++;
        }
        return n == 0 ? 0 : s / n;
    }

    /** Mean over supervised rows of the average logit of the non-target tokens (the paper's distractor logit). */
    private static double meanNonTargetLogit(Logits.Host z, MemorySegment labels) {
        double s = 0;
        long n = 0;
        for (long r = 0; r < z.rows(); r++) {
            long y = labels.getAtIndex(ValueLayout.JAVA_LONG, r);
            if (y == CeMix.IGNORE_INDEX) continue;
            double row = 0;
            for (long v = 0; v < z.vocab(); v++) row += z.get(r, v);
            s += (row - z.get(r, y)) / (z.vocab() - 1);
            n++;
        }
        return n == 0 ? 0 : s / n;
    }

    private static double norm(Logits.Host g) {
        double s = 0;
        for (long r = 0; r < g.rows(); r++)
            for (long v = 0; v < g.vocab(); v++) {
                double x = g.get(r, v);
                s += x * x;
            }
        return Math.sqrt(s);
    }

    /** Ctrl-C: the shutdown hook asks the loop to checkpoint and waits (up to a minute) until it has. */
    static final class Interrupt {
        private volatile boolean requested;
        private final CountDownLatch finished = new CountDownLatch(1);
        private Thread hook;

        static Interrupt install() {
            Interrupt i = new Interrupt();
            i.hook = new Thread(() -> {
                i.requested = true;
                try {
                    i.finished.await(60, TimeUnit.SECONDS);
                } catch (InterruptedException ignored) {
                    Thread.currentThread().interrupt();
                }
            }, "wmss-ctrl-c");
            Runtime.getRuntime().addShutdownHook(i.hook);
            return i;
        }

        boolean requested() {
            return requested;
        }

        void done() {
            finished.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException ignored) {
                // the JVM is already shutting down (Ctrl-C): the hook is running and now returns
            }
        }
    }

    public static int[] all(int n) {
        int[] a = new int[n];
        Arrays.setAll(a, i -> i);
        return a;
    }
}
