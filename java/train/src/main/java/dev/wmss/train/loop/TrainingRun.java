package dev.wmss.train.loop;

import com.google.gson.GsonBuilder;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Collator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One SFT or WD-JT run, wired from its parts. {@link Builder#prepare} checks everything that can be checked
 * before any work: the data (answers within max-len), the models, the output directory (with the OS's reason when
 * it cannot be written), and for --resume that a checkpoint exists and was made by this very run (else every
 * differing field is named). Only then does {@link #run} write train.json, load the models (from the checkpoint
 * when resuming) and train. Writes out/metrics.jsonl, out/batches.jsonl ({@link BatchLog}), out/checkpoints/ and
 * the final out/strong (and out/weak).
 * Under a launcher ({@link DataParallel#process()}) every rank runs this with the same inputs: each trains on its
 * shard, and only rank 0 writes (train.json, metrics, checkpoints, final models, start-over deletions). The run's
 * identity does not include the number of ranks: a step's batches depend on seed and step only, so a run resumes
 * on any number of ranks.
 */
public final class TrainingRun {
    private static final Logger LOG = LoggerFactory.getLogger(TrainingRun.class);

    public record Result(long steps, double lastLoss, Path strong, Path weak, boolean interrupted) {}

    private final TrainConfig cfg;
    private final Collator data;
    private final int[] active;
    private final Path strongInit, weakInit, out;
    private final RunIdentity identity;
    private final Checkpointer.Saved from;
    private final DataParallel parallel;
    private final Head head;
    private final Finished finished;
    private final Runnable onStart;
    private final dev.wmss.train.data.Tokenizer tokenizer;
    private final boolean activationCheckpointing;

    private TrainingRun(Builder b, RunIdentity identity, Checkpointer.Saved from, Finished finished) {
        this.parallel = b.parallel;
        this.cfg = b.cfg;
        this.data = b.data;
        this.active = b.active;
        this.strongInit = b.strong;
        this.weakInit = b.weak;
        this.out = b.out;
        this.identity = identity;
        this.from = from;
        this.head = b.head;
        this.finished = finished;
        this.onStart = b.onStart;
        this.tokenizer = b.tokenizer;
        this.activationCheckpointing = b.checkpointingDecided;
    }

    public static Builder builder(TrainConfig cfg) {
        return new Builder(cfg);
    }

    /** The checkpoint this run continues, if it resumes. */
    public Optional<Checkpointer.Saved> resumesFrom() {
        return Optional.ofNullable(from);
    }

    /** Whether this run had finished before (resumed: its final models verify, so {@link #run} does nothing). */
    public boolean finishedBefore() {
        return finished != null;
    }

    public Result run() {
        boolean wmss = cfg.mode() == TrainConfig.Mode.WDJT;
        if (finished != null) {
            if (parallel.isRoot()) {
                LOG.info("{} finished before (step {} of {}; its final models verify): nothing to do", out, finished.step(),
                        finished.step());
            }
            return new Result(finished.step(), finished.loss(), out.resolve("strong"), wmss ? out.resolve("weak") : null, false);
        }
        try (TorchModel strong = Placement.current().load(from != null ? from.dir().resolve("strong") : strongInit);
             TorchModel weak = wmss ? Placement.current().load(from != null ? from.dir().resolve("weak") : weakInit) : null) {
            MemoryBudget.requireForTraining(strong.parameterCount() + (wmss && !cfg.freezeWeak() ? weak.parameterCount() : 0));
            if (activationCheckpointing) { // the same gradients, bit for bit; a frozen weak model keeps no activations
                strong.setActivationCheckpointing(true);
                if (weak != null) weak.setActivationCheckpointing(true);
            }
            parallel.broadcastParameters(strong); // identical starts (they read the same files; this makes it so)
            if (weak != null) parallel.broadcastParameters(weak);
            strong.adamW(cfg.lr(), TrainConfig.ADAM_BETA1, cfg.adamBeta2(), TrainConfig.ADAM_EPS, cfg.weightDecay());
            if (weak != null) weak.adamW(cfg.lr(), TrainConfig.ADAM_BETA1, cfg.adamBeta2(), TrainConfig.ADAM_EPS, cfg.weightDecay());
            Objective objective = wmss ? new WdJtObjective(strong, weak, cfg.lambda(), cfg.freezeWeak(), head,
                    cfg.clipScope() == TrainConfig.ClipScope.JOINT)
                    : cfg.mode() == TrainConfig.Mode.TEMPERATURE ? new TemperatureObjective(strong, cfg.lambda())
                    : new SftObjective(strong, head);
            for (TorchModel m : trained(objective)) parallel.shardOptimizer(m, cfg.zero()); // ZeRO: before any load
            if (from != null) {
                for (var e : objective.models().entrySet()) { // whole or sharded, of any world size: the same state
                    Path d = from.dir().resolve(e.getKey());
                    if (Files.exists(d.resolve("optimizer.pt"))) e.getValue().loadOptimizer(d.resolve("optimizer.pt"));
                    else e.getValue().loadOptimizerShards(d);
                }
            }
            // every input is known good now (the models and the optimizer state loaded): only now does the run leave
            // files, so a start that fails leaves no run behind that blocks the next one
            if (parallel.isRoot()) {
                Finished.delete(out); // a run that starts or continues is not finished until it says so again
                // where this session ran (device, precision) is recorded, not part of the identity: a run may move
                writeJson(out.resolve("train.json"), Map.of("config", cfg, "identity", identity, "truncation",
                        data.truncation(), "placement", Placement.current().toString(), "activation_checkpointing",
                        activationCheckpointing));
                if (onStart != null) onStart.run();
            }
            BatchLog batches = new BatchLog(BatchLog.file(out, parallel.rank())); // every rank: what it trained on
            MetricsSink sink = parallel.isRoot()
                    ? MetricsSink.of(new JsonlMetrics(out.resolve("metrics.jsonl")), new ConsoleMetrics(cfg.logEvery()), batches)
                    : MetricsSink.of(batches); // rank 0 reports for the job
            Trainer.Result r;
            try (DataParallel.Gradients gradients = parallel.gradients(trained(objective))) { // closed before the models
                Trainer trainer = new Trainer(cfg, new Sampler(active, cfg.batchSize(), cfg.accum(), Sampler.stageSeed(cfg)), data, objective,
                        new Checkpointer(out, cfg.keepCheckpoints()), identity, sink, parallel, gradients);
                r = trainer.run(from != null ? from.step() : 0);
            }
            if (r.interrupted()) {
                if (parallel.isRoot()) LOG.warn("interrupted: checkpoint saved at step {}; continue with --resume", r.steps());
            } else {
                if (parallel.isRoot()) {
                    strong.save(out.resolve("strong"));
                    if (weak != null) weak.save(out.resolve("weak"));
                    if (tokenizer != null) { // each one a complete Hugging Face model directory
                        HfModelDir.complete(out.resolve("strong"), tokenizer, strongInit);
                        if (weak != null) HfModelDir.complete(out.resolve("weak"), tokenizer, weakInit);
                    }
                    Finished.write(out, r.steps(), r.lastLoss(), identity, wmss ? List.of("strong", "weak") : List.of("strong"));
                }
                parallel.barrier(); // every rank may read the final models once this returns
            }
            return new Result(r.steps(), r.lastLoss(), out.resolve("strong"), wmss ? out.resolve("weak") : null,
                    r.interrupted());
        }
    }

    /** The models the optimizer steps, in role order (the same on every rank): strong, and weak unless frozen. */
    private java.util.List<TorchModel> trained(Objective objective) {
        java.util.List<TorchModel> out = new java.util.ArrayList<>();
        for (var e : objective.models().entrySet()) {
            if (!(e.getKey().equals("weak") && cfg.freezeWeak())) out.add(e.getValue());
        }
        return out;
    }

    /** What a run wrote in its directory, deleted by --restart ({@link RunFiles}: nothing else in it is touched). */
    static void deleteRun(Path out) {
        RunFiles.delete(out, RunFiles.TRAINING, List.of(), "--restart");
    }

    static void writeJson(Path file, Object value) {
        try {
            Files.writeString(file, new GsonBuilder().setPrettyPrinting().create().toJson(value) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + OutputDir.reason(e), e);
        }
    }

    public static final class Builder {
        private final TrainConfig cfg;
        private Collator data;
        private int[] active;
        private Path strong, weak, out;
        private boolean resume, startOver, resumeOrStart;
        private DataParallel parallel;
        private Head head = Head.FUSED;
        private Runnable onStart;
        private boolean restart;
        private dev.wmss.train.data.Tokenizer tokenizer;
        private Checkpointing activationCheckpointing = Checkpointing.OFF;
        private boolean checkpointingDecided;

        private Builder(TrainConfig cfg) {
            this.cfg = cfg;
        }

        /** The ranks this run is shared by (default: {@link DataParallel#process()}, one process without a launcher). */
        public Builder parallel(DataParallel p) {
            this.parallel = java.util.Objects.requireNonNull(p, "parallel");
            return this;
        }

        /** The tokenised examples and the indices to train on (all of them, or a WD-DS draw; repeats allowed). */
        public Builder data(Collator d, int[] activeIndices) {
            this.data = d;
            this.active = activeIndices.clone();
            return this;
        }

        /** The model trained and kept (SFT's only model, WD-JT's strong M1). */
        public Builder strong(Path dir) {
            this.strong = dir;
            return this;
        }

        /** WD-JT's weak model M0. */
        public Builder weak(Path dir) {
            this.weak = dir;
            return this;
        }

        public Builder out(Path dir) {
            this.out = dir;
            return this;
        }

        /** How the loss meets the vocabulary: the fused head (default) or full logits. Not part of the run's identity. */
        public Builder head(Head h) {
            this.head = java.util.Objects.requireNonNull(h, "head");
            return this;
        }

        /**
         * Layer activation checkpointing of the trained models (--activation-checkpointing): each layer's input kept,
         * the layer run again in the backward. Not part of the run's identity: the gradients are the same, bit for bit.
         */
        public Builder activationCheckpointing(boolean on) {
            return activationCheckpointing(on ? Checkpointing.ON : Checkpointing.OFF);
        }

        /** {@link Checkpointing#AUTO}: on when the memory plan says the run needs it to fit, else off. */
        public Builder activationCheckpointing(Checkpointing c) {
            this.activationCheckpointing = java.util.Objects.requireNonNull(c, "activation checkpointing");
            return this;
        }

        /**
         * The tokenizer of the data: its files and a generation config go beside the final models, which are then
         * complete Hugging Face directories (without one, the weights and config.json only).
         */
        public Builder tokenizer(dev.wmss.train.data.Tokenizer t) {
            this.tokenizer = t;
            return this;
        }

        /**
         * Called on rank 0 once the run's inputs are known good (models and optimizer state loaded), before the first
         * step: where a command writes its own record of the run (run.json), so that a failed start leaves none.
         */
        public Builder onStart(Runnable r) {
            this.onStart = r;
            return this;
        }

        /**
         * Replace a run that out holds: what an earlier run wrote there (its checkpoints, metrics, records and final
         * models; nothing else) is deleted, then the run starts afresh (--restart).
         */
        public Builder restart(boolean r) {
            this.restart = r;
            return this;
        }

        /** Continue from the newest checkpoint in out (an error if there is none, or if it is another run's). */
        public Builder resume(boolean r) {
            this.resume = r;
            return this;
        }

        /**
         * Continue what out holds when it can (a finished run whose final models verify: nothing to do; else the newest
         * checkpoint that verifies), else start afresh, deleting what an earlier run left (a stage of `run` or of the
         * experiment, whose settings were checked as a whole).
         */
        public Builder resumeOrStart() {
            this.resumeOrStart = true;
            return this;
        }

        /** Without resume: delete checkpoints an earlier run left in out instead of refusing to start. */
        public Builder startOver(boolean s) {
            this.startOver = s;
            return this;
        }

        /**
         * The memory check of {@link #prepare} alone, nothing written: for a command that runs several trainings, the
         * largest refused before the first one starts (an audit: `run` trained M1 and the control, then refused WD-JT).
         */
        public void requireMemory() {
            if (parallel == null) parallel = DataParallel.process();
            MemoryFit.decide(this, parallel);
        }

        TrainConfig config() {
            return cfg;
        }

        Path strongDir() {
            return strong;
        }

        Path weakDir() {
            return cfg.mode() == TrainConfig.Mode.WDJT ? weak : null;
        }

        int maxLen() {
            return data.maxLen();
        }

        Head head() {
            return head;
        }

        Checkpointing checkpointing() {
            return activationCheckpointing;
        }

        public TrainingRun prepare() {
            if (data == null || strong == null || out == null) throw new IllegalStateException("data, strong and out are required");
            if (cfg.mode() == TrainConfig.Mode.WDJT && weak == null) throw new IllegalArgumentException("WD-JT needs a weak model");
            for (Path input : cfg.mode() == TrainConfig.Mode.WDJT ? List.of(strong, weak) : List.of(strong)) {
                if (OutputDir.contains(out, input)) {
                    throw new IllegalArgumentException("the model " + input + " is inside --out " + out + ", which this"
                            + " run writes (its strong/ and weak/ models): choose another --out");
                }
            }
            for (int i : active) {
                if (i < 0 || i >= data.size()) throw new IllegalArgumentException("active index " + i + " outside the data");
            }
            ModelConfigFile.requireFits(data.maxLen(), "--max-len", strong, cfg.mode() == TrainConfig.Mode.WDJT ? weak : null);
            if (cfg.zero() > 0 && Placement.current().cuda()) {
                throw new IllegalArgumentException("--zero " + cfg.zero() + " runs on the CPU in this version (ZeRO on CUDA"
                        + " is not implemented yet: `plan --device cuda --zero 1` projects it); use --zero 0 on CUDA");
            }
            if (parallel == null) parallel = DataParallel.process();
            checkpointingDecided = MemoryFit.decide(this, parallel);
            String warning = data.checkAnswersFit();
            if (warning != null) LOG.warn("{}; raise --max-len", warning);
            String cut = data.truncation().describe();
            if (cut != null && DataParallel.environmentRank() == 0) LOG.warn(cut);
            RunIdentity id = RunIdentity.of(cfg, data.fingerprint(), data.size(), data.maxLen(), active,
                    ModelFingerprint.of(strong), ModelFingerprint.of(cfg.mode() == TrainConfig.Mode.WDJT ? weak : null));
            if (parallel == null) parallel = DataParallel.process();
            if (restart && (resume || resumeOrStart)) throw new IllegalArgumentException("--restart and --resume exclude each other");
            if (restart) startOver = true;
            Checkpointer checkpoints = new Checkpointer(out, cfg.keepCheckpoints());
            // not read when rank 0 may be deleting them (a new run with startOver)
            Optional<Checkpointer.Saved> latest = !resume && !resumeOrStart && !startOver && Files.isDirectory(out)
                    ? checkpoints.latest()
                    : Optional.empty();
            Checkpointer.Saved from = null;
            boolean fresh = startOver;
            if (resume || resumeOrStart) {
                // a finished run whose final models verify has nothing left to do; damaged ones are trained again
                Finished done;
                try {
                    done = Finished.check(out, id);
                } catch (IllegalArgumentException otherRun) { // a stage whose inputs changed: its earlier work is void
                    if (resume) throw otherRun;
                    LOG.info("   {} holds a run of other inputs: starting afresh", out);
                    done = null;
                }
                if (done != null && done.verified()) return new TrainingRun(this, id, null, done);
                if (done != null) {
                    LOG.warn("{} finished before, but its final models are damaged: {}; training them again", out,
                            String.join("; ", done.problems()));
                }
                // the newest checkpoint whose files verify (a damaged newer one is set aside by rank 0, saying so)
                Optional<Checkpointer.Saved> verified;
                try {
                    verified = checkpoints.verifiedLatest(parallel.isRoot());
                } catch (IllegalArgumentException damaged) {
                    if (resume) throw damaged;
                    LOG.warn("{}\nstarting {} afresh", damaged.getMessage(), out);
                    verified = Optional.empty();
                }
                if (verified.isEmpty() && resume) {
                    throw new IllegalArgumentException("--resume: no checkpoint in " + checkpoints.root() + " to resume from"
                            + (done != null ? " (the run had finished, its final models are damaged, and it kept no checkpoint)" : "")
                            + (Files.exists(out.resolve("train.json")) ? ": --restart replaces the run in " + out
                            + " (deleting it), or choose another --out" : " (run without --resume to start)"));
                }
                from = verified.orElse(null);
                List<String> diff = from == null ? List.of() : id.differencesFrom(from.identity());
                if (!diff.isEmpty() && !resume) {
                    LOG.info("   the checkpoint in {} is of other inputs: starting afresh", out);
                    from = null;
                    diff = List.of();
                }
                fresh = from == null;
                if (!diff.isEmpty()) {
                    throw new IllegalArgumentException("--resume: the checkpoint at step " + from.step() + " in " + out
                            + " is of a different run:\n  " + String.join("\n  ", diff)
                            + "\nuse the checkpoint's settings, or another --out for a new run");
                }
                if (from != null) LOG.info("   resuming from {} (step {})", from.dir(), from.step());
            } else if (latest.isPresent() && !startOver) {
                throw new IllegalArgumentException(out + " already holds a checkpoint (step " + latest.get().step()
                        + "): continue it with --resume, replace it with --restart (deleting it), or choose another --out");
            } else if (!startOver && parallel.isRoot() // rank 0 alone: the others may see the files it starts writing
                    && (Files.exists(out.resolve("metrics.jsonl")) || Files.exists(out.resolve("train.json")))) {
                throw new IllegalArgumentException(out + " already holds a run (" + (Files.exists(out.resolve("train.json"))
                        ? "train.json" : "metrics.jsonl") + ") and no checkpoint to continue it from: replace it with"
                        + " --restart (deleting it), or choose another --out");
            }
            OutputDir.requireWritable(out, "--out");
            if (from == null && fresh && parallel.isRoot()) {
                if (restart) deleteRun(out);
                else RunFiles.delete(out, RunFiles.TRAINING, List.of("checkpoints"), "a fresh start");
            }
            return new TrainingRun(this, id, from, null);
        }
    }
}
