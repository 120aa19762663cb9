package dev.wmss.train;

import dev.wmss.train.loop.TrainConfig;
import picocli.CommandLine.Option;

/** The options every training command shares. */
final class TrainOptions {
    @Option(names = "--epochs", defaultValue = "1", description = "Epochs over the data (default ${DEFAULT-VALUE}).")
    int epochs;
    @Option(names = "--batch", defaultValue = "32", description = "Examples per step (default ${DEFAULT-VALUE}).")
    int batch;
    @Option(names = "--accum", defaultValue = "1", description = "Micro-batches per optimizer step (default ${DEFAULT-VALUE}).")
    int accum;
    @Option(names = "--lr", defaultValue = "2e-3", description = "Peak learning rate, AdamW (default ${DEFAULT-VALUE}).")
    double lr;
    @Option(names = "--warmup", defaultValue = "0.1", description = "Warm-up share of the steps, then cosine (default ${DEFAULT-VALUE}).")
    double warmup;
    @Option(names = "--weight-decay", defaultValue = "0.0", description = "AdamW weight decay (default ${DEFAULT-VALUE}).")
    double weightDecay;
    @Option(names = "--clip", defaultValue = "1.0", description = "Gradient-norm clip, 0 = off (default ${DEFAULT-VALUE}).")
    double clip;
    @Option(names = "--max-len", defaultValue = "256", description = "Tokens per example (default ${DEFAULT-VALUE}).")
    int maxLen;
    @Option(names = "--seed", defaultValue = "1", description = "Data order and sampling seed (default ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--log-every", defaultValue = "10", description = "Steps per log line (default ${DEFAULT-VALUE}).")
    int logEvery;
    @Option(names = "--checkpoint-every", defaultValue = "50", description = "Steps per checkpoint, 0 = end only (default ${DEFAULT-VALUE}).")
    int checkpointEvery;
    @Option(names = "--resume", description = "Continue from OUT/checkpoint (same data order, same loss curve).")
    boolean resume;

    TrainConfig config(TrainConfig.Mode mode, float lambda, boolean freezeWeak) {
        return new TrainConfig(mode, epochs, batch, accum, lr, warmup, weightDecay, clip, lambda, freezeWeak, seed, logEvery,
                checkpointEvery);
    }
}
