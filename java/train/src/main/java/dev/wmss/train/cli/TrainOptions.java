package dev.wmss.train.cli;

import dev.wmss.train.loop.TrainConfig;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The training options of sft, wmss and run (a mixin): epochs, batch and accumulation, the AdamW settings and the
 * learning-rate schedule, clipping, loss tokens, logging, checkpoints and --resume, with the shared --seed, --max-len,
 * --head / --head-chunk-mb and --device / --precision mixins. {@link #config} turns them into a validated TrainConfig.
 */
final class TrainOptions {
    @Option(names = "--epochs", defaultValue = "1", description = "Epochs over the data (default ${DEFAULT-VALUE}).")
    int epochs;
    @Option(names = "--batch", defaultValue = "32", description = "Examples per micro-batch (default ${DEFAULT-VALUE}).")
    int batch;
    @Option(names = "--accum", defaultValue = "1", description = "Micro-batches per optimizer step (default ${DEFAULT-VALUE}).")
    int accum;
    @Option(names = "--lr", defaultValue = "2e-3", description = "Peak learning rate, AdamW (default ${DEFAULT-VALUE}).")
    double lr;
    @Option(names = "--warmup", defaultValue = "0.0", description = "Warm-up share of the steps (default ${DEFAULT-VALUE}: none, as the authors' code).")
    double warmup;
    @Option(names = "--schedule", defaultValue = "linear", paramLabel = "linear|cosine",
            description = "Learning-rate decay to 0 after the warm-up (default ${DEFAULT-VALUE}, as the authors' code).")
    TrainConfig.Schedule schedule;
    @Option(names = "--adam-beta2", defaultValue = "0.999", description = "AdamW beta2 (default ${DEFAULT-VALUE}, as the authors' code; beta1 0.9, eps 1e-8).")
    double adamBeta2;
    @Option(names = "--clip-scope", defaultValue = "joint", paramLabel = "joint|per-model",
            description = "WD-JT: clip the joint gradient norm of both models (default, as the authors' code) or each model's own.",
            converter = ClipScopeConverter.class)
    TrainConfig.ClipScope clipScope;
    @Option(names = "--loss-tokens", paramLabel = "completion|all",
            description = "Next tokens that are targets: the response only, or every token of the example (default: completion for sft, all for wmss, as the authors' code).")
    TrainConfig.LossTokens lossTokens;
    @Option(names = "--weight-decay", defaultValue = "0.0", description = "AdamW weight decay (default ${DEFAULT-VALUE}).")
    double weightDecay;
    @Option(names = "--clip", defaultValue = "1.0", description = "Gradient-norm clip, 0 = off (default ${DEFAULT-VALUE}).")
    double clip;
    @Option(names = "--log-every", defaultValue = "10", description = "Steps per log line (default ${DEFAULT-VALUE}).")
    int logEvery;
    @Option(names = "--checkpoint-every", defaultValue = "50", description = "Steps per checkpoint, 0 = only on Ctrl-C (default ${DEFAULT-VALUE}).")
    int checkpointEvery;
    @Option(names = "--keep-checkpoints", defaultValue = "" + dev.wmss.train.loop.Checkpointer.DEFAULT_KEEP,
            description = "Checkpoints kept (the newest N; a resume falls back to an earlier one when the newest is"
                    + " damaged) (default ${DEFAULT-VALUE}).")
    int keepCheckpoints;
    @Option(names = "--zero", defaultValue = "0", paramLabel = "0|1",
            description = "ZeRO stage over data-parallel ranks: 1 shards the AdamW moments (8 bytes per parameter"
                    + " / ranks instead of 8; the same parameters, bit for bit; checkpoints hold a shard per rank and"
                    + " resume on any number of ranks); no effect on one process (default ${DEFAULT-VALUE}).")
    int zero;
    @Option(names = "--resume", description = "Continue from the newest checkpoint in OUT (same run settings, same loss curve).")
    boolean resume;
    @Option(names = "--activation-checkpointing", defaultValue = "auto", paramLabel = "off|on|auto",
            description = "Keep each decoder layer's input only and run the layer again in the backward: the same"
                    + " gradients, bit for bit, for 4 x hidden bytes of activations per token and layer, at the cost of"
                    + " one more forward of the layers; auto: on when the memory plan says the run needs it to fit"
                    + " (default ${DEFAULT-VALUE}).")
    dev.wmss.train.loop.Checkpointing activationCheckpointing;
    @Option(names = "--restart", description = "Replace the run OUT holds: delete what it wrote (checkpoints, metrics,"
            + " records, final models; run: its stages) and start afresh.")
    boolean restart;
    @Mixin
    SharedOptions.Seed seed;
    @Mixin
    SharedOptions.MaxLen maxLen;
    @Mixin
    SharedOptions.HeadOption head;
    @Mixin
    SharedOptions.DeviceOption placement;

    /** per-model or per_model, any case. */
    static final class ClipScopeConverter implements picocli.CommandLine.ITypeConverter<TrainConfig.ClipScope> {
        @Override
        public TrainConfig.ClipScope convert(String v) {
            return switch (v.toLowerCase(java.util.Locale.ROOT).replace('_', '-')) {
                case "joint" -> TrainConfig.ClipScope.JOINT;
                case "per-model" -> TrainConfig.ClipScope.PER_MODEL;
                default -> throw new picocli.CommandLine.TypeConversionException("--clip-scope must be joint or per-model, got " + v);
            };
        }
    }

    /** The validated configuration (an invalid option fails here, before any work). */
    TrainConfig config(TrainConfig.Mode mode, float lambda, boolean freezeWeak) {
        TrainConfig.Builder b = TrainConfig.builder(mode).epochs(epochs).batchSize(batch).accum(accum).lr(lr).warmupRatio(warmup)
                .weightDecay(weightDecay).maxGradNorm(clip).seed(seed.value).logEvery(logEvery).checkpointEvery(checkpointEvery)
                .keepCheckpoints(keepCheckpoints).zero(zero);
        b.schedule(schedule).adamBeta2(adamBeta2).clipScope(clipScope);
        if (mode == TrainConfig.Mode.WDJT) b.lambda(lambda).freezeWeak(freezeWeak);
        if (lossTokens != null) b.lossTokens(lossTokens);
        maxLen.checked();
        head.value();
        return b.build();
    }

    /** "on" or "off" (any case). */
    static final class OnOff implements picocli.CommandLine.ITypeConverter<Boolean> {
        @Override
        public Boolean convert(String v) {
            return switch (v.toLowerCase(java.util.Locale.ROOT)) {
                case "on", "true" -> true;
                case "off", "false" -> false;
                default -> throw new picocli.CommandLine.TypeConversionException("expected on or off, got '" + v + "'");
            };
        }
    }
}
