package dev.wmss.train.loop;

/**
 * How one training run goes. An optimizer step takes batchSize x accum examples in accum micro-batches; the loss
 * is normalised by the supervised tokens of all of them (the accumulated batch), as the method prescribes. mode SFT trains the strong model alone (plain cross-entropy through the fused kernel
 * with lambda = 1); WMSS trains weak and strong jointly on the mixed logits (WD-JT).
 */
public record TrainConfig(Mode mode, int epochs, int batchSize, int accum, double lr, double warmupRatio,
                          double weightDecay, double maxGradNorm, float lambda, boolean freezeWeak, long seed,
                          int logEvery, int checkpointEvery) {
    public enum Mode { SFT, WMSS }

    public TrainConfig {
        if (epochs < 1 || batchSize < 1 || accum < 1) {
            throw new IllegalArgumentException("epochs, batch size and accumulation must be >= 1");
        }
        if (!(lr > 0)) throw new IllegalArgumentException("learning rate must be > 0");
        if (!(warmupRatio >= 0 && warmupRatio <= 1)) throw new IllegalArgumentException("warm-up ratio must be in [0, 1]");
        if (!(lambda >= 0 && lambda <= 1)) throw new IllegalArgumentException("lambda must be in [0, 1]");
        if (logEvery < 1) throw new IllegalArgumentException("log interval must be >= 1");
    }

    public static TrainConfig sft(int epochs, int batchSize, double lr, long seed) {
        return new TrainConfig(Mode.SFT, epochs, batchSize, 1, lr, 0.1, 0.0, 1.0, 1f, false, seed, 10, 0);
    }

    public TrainConfig withMode(Mode m, float lambda) {
        return new TrainConfig(m, epochs, batchSize, accum, lr, warmupRatio, weightDecay, maxGradNorm, lambda, freezeWeak, seed,
                logEvery, checkpointEvery);
    }

    public TrainConfig withCheckpointEvery(int n) {
        return new TrainConfig(mode, epochs, batchSize, accum, lr, warmupRatio, weightDecay, maxGradNorm, lambda, freezeWeak, seed,
                logEvery, n);
    }

    public TrainConfig withEpochs(int n) {
        return new TrainConfig(mode, n, batchSize, accum, lr, warmupRatio, weightDecay, maxGradNorm, lambda, freezeWeak, seed,
                logEvery, checkpointEvery);
    }
}
