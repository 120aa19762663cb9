package dev.wmss.train.cli;

/**
 * The memory a run may use where it runs: this machine's RAM (and cgroup) for the CPU, the device's for CUDA; at most
 * the limit of one's own a training run also applies ({@link dev.wmss.train.loop.MemoryBudget#limitBytes}).
 */
final class MemoryFit {
    private MemoryFit() {}

    /** Bytes where the models would run, or -1 where unknown (no CUDA device here). */
    static double capacity(boolean cuda) {
        double limit = dev.wmss.train.loop.MemoryBudget.limitBytes(), have = machine(cuda);
        return limit < 0 ? have : have < 0 ? limit : Math.min(have, limit);
    }

    private static double machine(boolean cuda) {
        if (!cuda) return dev.wmss.train.loop.MemoryBudget.availableBytes();
        try {
            if (dev.wmss.runtime.WmssTorch.cudaDeviceCount() < 1) return -1;
            return dev.wmss.runtime.WmssTorch.deviceMemory("cuda:0", false)[3];
        } catch (RuntimeException e) {
            return -1;
        }
    }
}
