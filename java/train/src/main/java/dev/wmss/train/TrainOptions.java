package dev.wmss.train;

import dev.wmss.train.loop.TrainConfig;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** The options of the training commands (sft, wmss), with --seed and --max-len from the shared mixins. */
final class TrainOptions {
    @Option(names = "--epochs", defaultValue = "1", description = "Epochs over the data (default ${DEFAULT-VALUE}).")
    int epochs;
    @Option(names = "--batch", defaultValue = "32", description = "Examples per micro-batch (default ${DEFAULT-VALUE}).")
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
    @Option(names = "--log-every", defaultValue = "10", description = "Steps per log line (default ${DEFAULT-VALUE}).")
    int logEvery;
    @Option(names = "--checkpoint-every", defaultValue = "50", description = "Steps per checkpoint, 0 = only on Ctrl-C (default ${DEFAULT-VALUE}).")
    int checkpointEvery;
    @Option(names = "--resume", description = "Continue from the newest checkpoint in OUT (same run settings, same loss curve).")
    boolean resume;
    @Mixin
    SharedOptions.Seed seed;
    @Mixin
    SharedOptions.MaxLen maxLen;
    @Mixin
    SharedOptions.HeadOption head;

    /** The validated configuration (an invalid option fails here, before any work). */
    TrainConfig config(TrainConfig.Mode mode, float lambda, boolean freezeWeak) {
        TrainConfig.Builder b = TrainConfig.builder(mode).epochs(epochs).batchSize(batch).accum(accum).lr(lr).warmupRatio(warmup)
                .weightDecay(weightDecay).maxGradNorm(clip).seed(seed.value).logEvery(logEvery).checkpointEvery(checkpointEvery);
        if (mode == TrainConfig.Mode.WMSS) b.lambda(lambda).freezeWeak(freezeWeak);
        maxLen.checked();
        head.value();
        return b.build();
    }
}
