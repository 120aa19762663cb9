package dev.wmss.train.loop;

import dev.wmss.train.data.Batch;
import dev.wmss.train.data.Collator;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The training loop, and nothing else: for each step, the sampler's micro-batches are collated and fed to the
 * objective, the optimizer steps at the schedule's rate, the metrics sink hears about it, and the checkpointer
 * saves every checkpointEvery steps and on Ctrl-C. {@link TrainingRun} wires the parts and checks the inputs.
 * Data parallel ({@link DataParallel}): each rank trains on its shard of every step, the gradients are summed over
 * ranks before the optimizer step, loss and diagnostics are global, and only rank 0 saves checkpoints.
 */
public final class Trainer {
    public record Result(long steps, double lastLoss, boolean interrupted) {}

    private final TrainConfig cfg;
    private final Sampler sampler;
    private final Collator data;
    private final Objective objective;
    private final Checkpointer checkpointer;
    private final RunIdentity identity;
    private final MetricsSink metrics;
    private final DataParallel parallel;
    private final DataParallel.Gradients gradients;

    public Trainer(TrainConfig cfg, Sampler sampler, Collator data, Objective objective, Checkpointer checkpointer,
                   RunIdentity identity, MetricsSink metrics) {
        this(cfg, sampler, data, objective, checkpointer, identity, metrics, DataParallel.single(), null);
    }

    /** One rank of a data-parallel run: gradients sums the trained models' gradients over the ranks of parallel. */
    public Trainer(TrainConfig cfg, Sampler sampler, Collator data, Objective objective, Checkpointer checkpointer,
                   RunIdentity identity, MetricsSink metrics, DataParallel parallel, DataParallel.Gradients gradients) {
        this.parallel = parallel;
        this.gradients = gradients != null ? gradients : parallel.gradients(java.util.List.of());
        this.cfg = cfg;
        this.sampler = sampler;
        this.data = data;
        this.objective = objective;
        this.checkpointer = checkpointer;
        this.identity = identity;
        this.metrics = metrics;
    }

    public long totalSteps() {
        return sampler.totalSteps(cfg.epochs());
    }

    /** Trains from step start (0, or a checkpoint's step) to the end, or until Ctrl-C. */
    public Result run(long start) {
        long total = totalSteps();
        LrSchedule schedule = new LrSchedule(cfg.lr(), (long) (cfg.warmupRatio() * total), total, 0,
                cfg.schedule() == TrainConfig.Schedule.LINEAR);
        String name = cfg.mode().name().toLowerCase(java.util.Locale.ROOT);
        double peak = SgemmPeak.get(); // measured once per process, before the first step is timed
        metrics.start(name, start, total);
        boolean allTokens = cfg.lossTokens() == TrainConfig.LossTokens.ALL;
        Shutdown.Cooperation interrupt = Shutdown.cooperate(); // Ctrl-C, SIGTERM: checkpoint after this step
        try {
            double loss = Double.NaN;
            long step = start;
            while (step < total) {
                long t0 = System.nanoTime();
                int[][] which = sampler.shard(step, parallel.rank(), parallel.worldSize());
                Batch[] micro = new Batch[which.length];
                int supervised = 0, tokens = 0;
                double flops = 0;
                for (int k = 0; k < micro.length; k++) {
                    micro[k] = data.collate(which[k], allTokens);
                    supervised += micro[k].supervised();
                    tokens += micro[k].tokens();
                    flops += objective.flops(micro[k]);
                }
                int[] examples = java.util.Arrays.stream(micro).flatMapToInt(b -> java.util.Arrays.stream(b.examples())).toArray();
                long[] global = parallel.sum(supervised, tokens); // of the global batch: every rank's shard
                if (micro.length == 0) { // no data here this step: a batch without targets keeps this rank in step
                    micro = new Batch[]{DataParallel.withoutTargets(data.collate(new int[]{sampler.microBatches(step)[0][0]}, allTokens))};
                }
                boolean logNow = (step + 1) % cfg.logEvery() == 0 || step + 1 == total;
                Map<String, Object> diagnostics = new LinkedHashMap<>();
                float invNorm = 1f / Math.max(1, global[0]); // the mean over the supervised tokens of the whole step
                double rate = schedule.at(step);
                loss = 0;
                for (int k = 0; k < micro.length; k++) {
                    if (k == micro.length - 1) gradients.prepare(); // all-reduce overlapped with the last backward
                    try (Arena arena = Arena.ofConfined()) { // this micro-batch's ids, labels and scratch
                        loss += objective.microBatch(micro[k], invNorm, arena,
                                logNow && k == micro.length - 1 ? diagnostics : null);
                    } catch (dev.wmss.kernels.error.NonFiniteException e) { // say where and what, not only the row
                        throw diverged(name, step + 1, total, "the loss is not finite (" + withoutApiAdvice(e.getMessage()) + ")", e);
                    }
                }
                double commMs = gradients.sync(); // summed over ranks: clipping and the step see the same gradients
                Objective.GradNorms norms;
                try { // a non-finite norm of any trained model is refused before anything changes
                    norms = objective.step(rate, cfg.maxGradNorm());
                } catch (dev.wmss.kernels.error.NonFiniteException e) {
                    throw diverged(name, step + 1, total, "the gradient norm is not finite (" + e.getMessage() + ")", e);
                }
                double gradNorm = norms.total();
                // the same on every rank (the norm of the summed gradients)
                if (!Double.isFinite(gradNorm)) throw diverged(name, step + 1, total, "the gradient norm is " + gradNorm, null);
                step++;
                DataParallel.StepTotals totals = parallel.finishStep(loss, interrupt.requested(), logNow ? diagnostics : null,
                        micro[micro.length - 1].supervised());
                loss = totals.loss();
                if (logNow) diagnostics = totals.diagnostics();
                if (norms.perModel().size() > 1) { // WD-JT: grad_norm is the joint norm; each model's beside it
                    for (var e : norms.perModel().entrySet()) diagnostics.put("grad_norm_" + e.getKey(), e.getValue());
                }
                if (parallel.distributed()) diagnostics.put("comm_ms", commMs);
                double ms = (System.nanoTime() - t0) / 1e6;
                metrics.step(new MetricsSink.Step(step, total, sampler.epochOf(step - 1), loss, gradNorm, rate, ms,
                        global[1] / (ms / 1e3), diagnostics,
                        flops > 0 && peak > 0 ? flops / (ms / 1e3) / peak : Double.NaN, // this rank's work on its cores
                        examples));
                boolean stop = totals.stop(); // any rank's Ctrl-C: every rank stops after this same step
                if (stop || (cfg.checkpointEvery() > 0 && step % cfg.checkpointEvery() == 0 && step < total)) {
                    checkpointer.save(step, identity, objective.models(), parallel); // rank 0's, and each rank's shards
                    parallel.barrier(); // the checkpoint is complete before any rank goes on
                }
                if (stop) return new Result(step, loss, true);
            }
            return new Result(step, loss, false);
        } finally {
            metrics.close();
            interrupt.close();
        }
    }

    /** A kernel's message without its advice to API callers (a flag for NaN rows), which a training run has no use for. */
    static String withoutApiAdvice(String m) {
        int i = m == null ? -1 : m.indexOf("; call allowNonFinite");
        return i >= 0 ? m.substring(0, i) : m;
    }

    /** A step whose numbers stopped being finite, said with the step and the models trained. */
    private IllegalStateException diverged(String name, long step, long total, String what, Exception cause) {
        int n = objective.models().size();
        return new IllegalStateException(name + " step " + step + "/" + total + ": " + what + ": the "
                + String.join(" and ", objective.models().keySet()) + " model" + (n > 1 ? "s have" : " has")
                + " diverged (try a lower --lr; checkpoints written before this step are intact)", cause);
    }
}
