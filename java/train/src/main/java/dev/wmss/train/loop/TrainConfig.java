package dev.wmss.train.loop;

import com.google.gson.annotations.SerializedName;
import dev.wmss.train.settings.Setting;

/**
 * How one training run goes. An optimizer step takes batchSize x accum examples in accum micro-batches; the loss
 * is normalised by the supervised tokens of all of them (the accumulated batch), as the method prescribes. Mode SFT
 * trains the strong model alone; WDJT trains weak and strong jointly on the mixed logits (WD-JT) with weight lambda
 * on the strong logits. Every field is checked here, with the command-line option it comes from named, so a bad
 * value stops a run before any work. Build one with {@link #builder}. Each component names its option
 * ({@link Setting}): a checkpoint's identity holds the configuration, and a resume is compared field by field.
 */
public record TrainConfig(@Setting("mode") Mode mode, @Setting("--epochs") int epochs, @Setting("--batch") int batchSize,
                          @Setting("--accum") int accum, @Setting("--lr") double lr, @Setting("--warmup") double warmupRatio,
                          @Setting("--weight-decay") double weightDecay, @Setting("--clip") double maxGradNorm,
                          @Setting("--lambda") float lambda, @Setting("--freeze-weak") boolean freezeWeak,
                          @Setting("--seed") long seed, @Setting(value = "--log-every", mayChange = true) int logEvery,
                          @Setting(value = "--checkpoint-every", mayChange = true) int checkpointEvery,
                          @Setting("--schedule") Schedule schedule, @Setting("--adam-beta2") double adamBeta2,
                          @Setting("--clip-scope") ClipScope clipScope, @Setting("--loss-tokens") LossTokens lossTokens,
                          @Setting(value = "--keep-checkpoints", mayChange = true) int keepCheckpoints,
                          @Setting(value = "--zero", mayChange = true) int zero) {
    /**
     * SFT: one model's cross-entropy; WDJT: WD-JT of a weak and a strong model; TEMPERATURE: one model's cross-entropy
     * of lambda·z (WD-JT's mixing without a weak model: the control that tells the weak model's part from a
     * temperature's).
     */
    public enum Mode {
        SFT,
        @SerializedName(value = "WDJT", alternate = "WMSS") WDJT, // WMSS: its name in files of earlier versions
        TEMPERATURE
    }

    /** The learning-rate shape after the warm-up: linear decay to 0 (the authors' code) or cosine to 0. */
    public enum Schedule { LINEAR, COSINE }

    /** WD-JT's gradient clip: one clip over both models' joint norm (the authors' code) or one per model. */
    public enum ClipScope { JOINT, PER_MODEL }

    /**
     * Which next tokens are targets: the response only (completion-only: SFT's default) or every token of the
     * example, prompt included (WD-JT's default: the authors' joint-training stage trains on the whole chat).
     */
    public enum LossTokens { COMPLETION, ALL }

    /** The authors' AdamW beta2 (their code's optimizer settings; beta1 0.9, eps 1e-8). */
    public static final double ADAM_BETA1 = 0.9, ADAM_BETA2 = 0.999, ADAM_EPS = 1e-8;

    public TrainConfig {
        if (mode == null) throw new IllegalArgumentException("mode is required");
        atLeast("--epochs", epochs, 1);
        atLeast("--batch", batchSize, 1);
        atLeast("--accum", accum, 1);
        if (!(lr > 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("--lr must be > 0 and finite, got " + lr);
        if (!(warmupRatio >= 0 && warmupRatio <= 1)) {
            throw new IllegalArgumentException("--warmup must be in [0, 1], got " + warmupRatio);
        }
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("--weight-decay must be >= 0 and finite, got " + weightDecay);
        }
        if (!(maxGradNorm >= 0) || Double.isInfinite(maxGradNorm)) {
            throw new IllegalArgumentException("--clip must be >= 0 and finite (0 = off), got " + maxGradNorm);
        }
        if (!(lambda >= 0 && lambda <= 1)) throw new IllegalArgumentException("--lambda must be in [0, 1], got " + lambda);
        if (mode == Mode.SFT && (lambda != 1f || freezeWeak)) {
            throw new IllegalArgumentException("SFT trains one model: lambda is 1 and there is no weak model to freeze");
        }
        if (mode == Mode.TEMPERATURE && (lambda == 0f || freezeWeak)) {
            throw new IllegalArgumentException("the temperature control trains one model on lambda·z: lambda must be > 0"
                    + " and there is no weak model to freeze");
        }
        if (schedule == null) throw new IllegalArgumentException("--schedule is required (linear or cosine)");
        if (clipScope == null) throw new IllegalArgumentException("--clip-scope is required (joint or per-model)");
        if (lossTokens == null) throw new IllegalArgumentException("--loss-tokens is required (completion or all)");
        if (!(adamBeta2 >= 0 && adamBeta2 < 1)) throw new IllegalArgumentException("--adam-beta2 must be in [0, 1), got " + adamBeta2);
        atLeast("--log-every", logEvery, 1);
        atLeast("--checkpoint-every", checkpointEvery, 0);
        if (keepCheckpoints == 0) keepCheckpoints = Checkpointer.DEFAULT_KEEP; // configurations of earlier versions
        atLeast("--keep-checkpoints", keepCheckpoints, 1);
        if (zero == 2 || zero == 3) {
            throw new IllegalArgumentException("--zero " + zero + " is not implemented yet (stage 1 is: the optimizer's"
                    + " moments sharded over the ranks); `wmss-native plan --zero " + zero + "` projects its memory");
        }
        if (zero != 0 && zero != 1) throw new IllegalArgumentException("--zero must be 0 or 1, got " + zero);
    }

    private static void atLeast(String option, long value, long min) {
        if (value < min) throw new IllegalArgumentException(option + " must be >= " + min + ", got " + value);
    }

    /**
     * Defaults (the authors' code where it decides): 1 epoch, batch 32, lr 2e-3, no warm-up and linear decay to 0,
     * AdamW beta2 0.999, clip 1 over the joint norm of the trained models, lambda 0.5 (WDJT), seed 1; targets are the
     * response tokens for SFT and every token for WD-JT.
     */
    public static Builder builder(Mode mode) {
        return new Builder(mode);
    }

    public Builder toBuilder() {
        return new Builder(mode).epochs(epochs).batchSize(batchSize).accum(accum).lr(lr).warmupRatio(warmupRatio)
                .weightDecay(weightDecay).maxGradNorm(maxGradNorm).lambda(lambda).freezeWeak(freezeWeak).seed(seed)
                .logEvery(logEvery).checkpointEvery(checkpointEvery).schedule(schedule).adamBeta2(adamBeta2)
                .clipScope(clipScope).lossTokens(lossTokens).keepCheckpoints(keepCheckpoints).zero(zero);
    }

    public static final class Builder {
        private Mode mode;
        private int epochs = 1, batchSize = 32, accum = 1, logEvery = 10, checkpointEvery = 50,
                keepCheckpoints = Checkpointer.DEFAULT_KEEP, zero;
        private double lr = 2e-3, warmupRatio = 0, weightDecay = 0, maxGradNorm = 1.0, adamBeta2 = ADAM_BETA2;
        private Schedule schedule = Schedule.LINEAR;
        private ClipScope clipScope = ClipScope.JOINT;
        private LossTokens lossTokens;
        private float lambda;
        private boolean freezeWeak;
        private long seed = 1;

        private Builder(Mode mode) {
            mode(mode);
        }

        /**
         * Switching to SFT sets lambda to 1, unfreezes and makes the response the targets; to WDJT, lambda to the
         * default 0.5 and every token a target (call {@link #lossTokens} after this to choose otherwise).
         */
        public Builder mode(Mode m) {
            this.mode = m;
            this.lambda = m == Mode.SFT ? 1f : 0.5f;
            this.lossTokens = m == Mode.SFT ? LossTokens.COMPLETION : LossTokens.ALL;
            if (m == Mode.SFT) freezeWeak = false;
            return this;
        }

        public Builder epochs(int v) { epochs = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder accum(int v) { accum = v; return this; }
        public Builder lr(double v) { lr = v; return this; }
        public Builder warmupRatio(double v) { warmupRatio = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder lambda(float v) { lambda = v; return this; }
        public Builder freezeWeak(boolean v) { freezeWeak = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder logEvery(int v) { logEvery = v; return this; }
        public Builder checkpointEvery(int v) { checkpointEvery = v; return this; }
        public Builder schedule(Schedule v) { schedule = v; return this; }
        public Builder adamBeta2(double v) { adamBeta2 = v; return this; }
        public Builder clipScope(ClipScope v) { clipScope = v; return this; }
        public Builder lossTokens(LossTokens v) { lossTokens = v; return this; }
        public Builder keepCheckpoints(int v) { keepCheckpoints = v; return this; }
        /** ZeRO stage of the trained models' optimizers over the data-parallel ranks (0: whole; 1: moments sharded). */
        public Builder zero(int v) { zero = v; return this; }

        public TrainConfig build() {
            return new TrainConfig(mode, epochs, batchSize, accum, lr, warmupRatio, weightDecay, maxGradNorm, lambda,
                    freezeWeak, seed, logEvery, checkpointEvery, schedule, adamBeta2, clipScope, lossTokens, keepCheckpoints,
                    zero);
        }
    }
}
