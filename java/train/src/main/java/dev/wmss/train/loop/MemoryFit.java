package dev.wmss.train.loop;

import dev.wmss.train.plan.MemoryPlan;
import dev.wmss.train.plan.ModelShape;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * The memory check a training run makes before it loads a model ({@link MemoryPlan}, from the models' config.json):
 * a run that will not fit where it runs (the device's memory on CUDA, the machine's RAM for every rank on it on the
 * CPU) is refused, naming what it needs and what would make it fit; with --activation-checkpointing auto,
 * checkpointing is turned on exactly when the run needs it to fit.
 */
final class MemoryFit {
    private MemoryFit() {}

    /** Whether the run trains with activation checkpointing; throws when it cannot fit. */
    static boolean decide(TrainingRun.Builder b, DataParallel parallel) {
        TrainConfig cfg = b.config();
        Placement where = Placement.current();
        MemoryPlan.Input in;
        try {
            in = new MemoryPlan.Input(ModelShape.of(b.strongDir().toString()),
                    b.weakDir() == null ? null : ModelShape.of(b.weakDir().toString()), !cfg.freezeWeak(), cfg.batchSize(),
                    b.maxLen(), where.cuda(), where.precision() == dev.wmss.kernels.DType.BF16, parallel.worldSize(),
                    ranksPerNode(parallel), parallel.worldSize() > 1 ? cfg.zero() : 0, b.checkpointing() == Checkpointing.ON, b.head().chunkBytes());
        } catch (RuntimeException unreadable) { // the model's load says what is wrong with its config.json
            return b.checkpointing() == Checkpointing.ON;
        }
        double capacity = capacity(where);
        MemoryPlan plan = MemoryPlan.of(in);
        if (capacity <= 0 || plan.neededWhereItRuns() <= capacity) return in.checkpointing();
        if (b.checkpointing() == Checkpointing.AUTO) {
            MemoryPlan on = MemoryPlan.of(in.withCheckpointing(true));
            if (on.neededWhereItRuns() <= capacity) {
                LoggerFactory.getLogger("dev.wmss.train").info("activation checkpointing on: without it the run needs {},"
                        + " with it {} ({} available)", MemoryPlan.gib(plan.neededWhereItRuns()),
                        MemoryPlan.gib(on.neededWhereItRuns()), MemoryPlan.gib(capacity));
                return true;
            }
        }
        List<String> fixes = plan.whatWouldFit(capacity);
        throw new IllegalArgumentException(String.format("%s%s at %d x %d tokens needs %s %s, and %s is available%s%s"
                        + " (`plan` shows where it goes)", in.strong().name(), in.weak() == null ? "" : " and " + in.weak().name(),
                in.batch(), in.seq(), MemoryPlan.gib(plan.neededWhereItRuns()), where.cuda() ? "per device"
                        : "on this machine" + (in.ranksPerNode() > 1 ? " for its " + in.ranksPerNode() + " ranks" : ""),
                MemoryPlan.gib(capacity), in.checkpointing() ? " with activation checkpointing" : "",
                fixes.isEmpty() ? ": nothing here makes it fit (fewer tokens per micro-batch, or more memory)"
                        : "; it would fit with " + String.join("; or ", fixes)));
    }

    /** Ranks sharing this machine (torchrun's LOCAL_WORLD_SIZE), else every rank. */
    private static int ranksPerNode(DataParallel parallel) {
        String local = System.getenv("LOCAL_WORLD_SIZE");
        try {
            return local != null ? Math.min(parallel.worldSize(), Math.max(1, Integer.parseInt(local.trim()))) : parallel.worldSize();
        } catch (NumberFormatException e) {
            return parallel.worldSize();
        }
    }

    /**
     * Bytes the run may use where it runs, or -1 where unknown: the device's total on CUDA, what is available on the
     * CPU; at most WMSS_MEMORY_LIMIT_GIB (-Dwmss.memory.limit.gib), a limit of one's own ({@link MemoryBudget#limitBytes}).
     */
    static double capacity(Placement where) {
        double have;
        if (!where.cuda()) {
            have = MemoryBudget.available();
        } else {
            try {
                have = dev.wmss.runtime.WmssTorch.deviceMemory(where.device(), false)[3];
            } catch (RuntimeException e) {
                have = -1;
            }
        }
        double l = MemoryBudget.limitBytes();
        if (l < 0) return have;
        return have < 0 ? l : Math.min(have, l);
    }
}
