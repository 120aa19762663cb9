package dev.wmss.train.method;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonParser;
import com.google.gson.annotations.SerializedName;
import dev.wmss.kernels.DType;
import dev.wmss.train.data.Collator;
import dev.wmss.train.eval.Evaluator;
import dev.wmss.train.loop.ContentHash;
import dev.wmss.train.loop.ModelFingerprint;
import dev.wmss.train.loop.OutputDir;
import dev.wmss.train.loop.TrainConfig;
import dev.wmss.train.select.Selection;
import dev.wmss.train.settings.Setting;
import dev.wmss.train.settings.SettingsDiff;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What a run of the method is: everything that decides its results, written to RUN/run.json as it is, compared
 * field by field on --resume ("--lr: run 0.003, now 0.001"), and shown in the report. Each component names the
 * option it comes from ({@link Setting}); the SFT and WD-JT configurations are nested with their own names. Inputs
 * are recorded by content (SHA-256), so the same path with other contents is another run. Where the run runs
 * (--device, --precision) and --head are not part of it, and --log-every and --checkpoint-every may change.
 * Build one with {@link #builder}; every value is checked there, before any stage.
 *
 * @param sft  M1's stage: SFT of M0 for 1 epoch (the control takes 1 + wdjtEpochs in one schedule)
 * @param wdjt WD-JT's stage: sft's configuration in mode WDJT for wdjtEpochs, with lambda and freezing (derived)
 * @param eval the evaluation set's spec, null for none (then no evaluation stage)
 */
public record MethodSettings(
        String command,
        @Setting("--base") String base,
        @Setting("--train") String train,
        @Setting("--eval") String eval,
        @Setting("--tokenizer") String tokenizer,
        @SerializedName("max_len") @Setting("--max-len") int maxLen,
        @Setting("training examples") int examples,
        @SerializedName("eval_examples") @Setting("evaluation examples") int evalExamples,
        @Setting("--lambda") float lambda,
        @SerializedName("freeze_weak") @Setting("--freeze-weak") boolean freezeWeak,
        @Setting("--selection") Selection.Variant selection,
        @SerializedName("wdjt_epochs") @Setting("--epochs") int wdjtEpochs,
        @SerializedName("max_new") @Setting("--max-new") int maxNew,
        @SerializedName("eval_batch") @Setting("--eval-batch") int evalBatch,
        @SerializedName("export_dtype") @Setting("--export-dtype") DType exportDType,
        TrainConfig sft,
        TrainConfig wdjt,
        @SerializedName("base_sha256") @Setting("--base's contents (SHA-256 of config.json and the weights)") String baseSha256,
        @SerializedName("train_sha256") @Setting("--train's contents (SHA-256)") String trainSha256,
        @SerializedName("eval_sha256") @Setting("--eval's contents (SHA-256)") String evalSha256,
        @SerializedName("tokenizer_sha256") @Setting("--tokenizer's files (SHA-256)") String tokenizerSha256,
        Collator.Truncation truncation) {
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    public MethodSettings {
        if (wdjtEpochs < 1) throw new IllegalArgumentException("--epochs must be >= 1, got " + wdjtEpochs);
        if (maxNew < 1) throw new IllegalArgumentException("--max-new must be >= 1, got " + maxNew);
        if (evalBatch < 1) throw new IllegalArgumentException("--eval-batch must be >= 1, got " + evalBatch);
        if (exportDType != DType.F32 && exportDType != DType.BF16) {
            throw new IllegalArgumentException("--export-dtype must be F32 or BF16");
        }
        if (selection == null) throw new IllegalArgumentException("--selection is required (CODE, PAPER or NONE)");
        if (sft == null || sft.mode() != TrainConfig.Mode.SFT) throw new IllegalArgumentException("M1's stage is SFT");
        if (wdjt == null || wdjt.mode() != TrainConfig.Mode.WDJT) throw new IllegalArgumentException("WD-JT's stage is WDJT");
    }

    /** The control's configuration: M1's SFT for 1 + wdjtEpochs epochs in one schedule (the same budget). */
    public TrainConfig control() {
        return Method.control(sft, wdjtEpochs);
    }

    /** The run's seed (data order, the WD-DS draw). */
    public long seed() {
        return sft.seed();
    }

    /** RUN/run.json (the caller decides which rank writes). */
    public void write(Path out) {
        OutputDir.writeJson(out.resolve("run.json"), GSON.toJsonTree(this));
    }

    /** A run directory is continued only with --resume, and only with the settings it was made with. */
    public void checkResume(Path out, boolean resume) {
        Path previous = out.resolve("run.json");
        boolean exists = Files.isRegularFile(previous);
        if (exists && !resume) {
            throw new IllegalArgumentException(out + " holds a run (run.json): continue it with --resume, or choose another --out");
        }
        if (!exists && resume) throw new IllegalArgumentException("--resume: no run in " + out + " (no run.json)");
        if (!exists) return;
        List<String> diff = SettingsDiff.of(recorded(OutputDir.read(previous)), this, GSON, "run");
        if (!diff.isEmpty()) {
            throw new IllegalArgumentException("--resume: " + out + " was made with other settings:\n  "
                    + String.join("\n  ", diff) + "\nuse the run's settings, or another --out for a new run");
        }
    }

    /** As run.json records them: what each stage's marker records too. */
    public com.google.gson.JsonElement toJson() {
        return GSON.toJsonTree(this);
    }

    /** One line per setting that differs between recorded settings (JSON) and these ("--seed: then 2, now 1"). */
    public List<String> differencesFrom(String recordedJson, String then) {
        return SettingsDiff.of(recorded(recordedJson), this, GSON, then);
    }

    /**
     * run.json as recorded, its configurations read as this version writes them (earlier versions named WD-JT's mode
     * WMSS): a run made before resumes when its settings are the same.
     */
    private static com.google.gson.JsonElement recorded(String json) {
        com.google.gson.JsonElement e = JsonParser.parseString(json);
        if (!e.isJsonObject()) return e;
        for (String stage : List.of("sft", "wdjt")) {
            com.google.gson.JsonElement cfg = e.getAsJsonObject().get(stage);
            if (cfg == null || !cfg.isJsonObject()) continue;
            try {
                e.getAsJsonObject().add(stage, GSON.toJsonTree(GSON.fromJson(cfg, TrainConfig.class)));
            } catch (RuntimeException unreadable) {
                // compared as it is: the differences are named
            }
        }
        return e;
    }

    /** sft: M1's configuration (its epochs are set to M1's 1 here). */
    public static Builder builder(TrainConfig sft) {
        return new Builder(sft);
    }

    /** Named construction: what is not set keeps `run`'s default. */
    public static final class Builder {
        private final TrainConfig sft;
        private String command = "run", base, train, eval, tokenizer = "byte";
        private Collator data;
        private int evalExamples, wdjtEpochs = 1, maxNew = Evaluator.DEFAULT_MAX_NEW, evalBatch = 32;
        private float lambda = 0.5f;
        private boolean freezeWeak;
        private Selection.Variant selection = Selection.Variant.CODE;
        private TrainConfig.LossTokens wdjtLossTokens;
        private DType exportDType = DType.BF16;
        private String baseSha256, trainSha256, evalSha256, tokenizerSha256;

        private Builder(TrainConfig sft) {
            this.sft = sft.toBuilder().epochs(1).build();
        }

        public Builder command(String v) { command = v; return this; }
        public Builder lambda(float v) { lambda = v; return this; }
        public Builder freezeWeak(boolean v) { freezeWeak = v; return this; }
        public Builder selection(Selection.Variant v) { selection = v; return this; }
        public Builder wdjtEpochs(int v) { wdjtEpochs = v; return this; }
        /** WD-JT's targets; null: WD-JT's default (every token). */
        public Builder wdjtLossTokens(TrainConfig.LossTokens v) { wdjtLossTokens = v; return this; }
        public Builder maxNew(int v) { maxNew = v; return this; }
        public Builder evalBatch(int v) { evalBatch = v; return this; }
        public Builder exportDType(DType v) { exportDType = v; return this; }

        /**
         * The inputs as given: base model directory, training data (its spec and the tokenised examples), the
         * evaluation set (spec and size; spec null: none) and the tokenizer (as resolved: "byte" or its file).
         */
        public Builder inputs(Path base, String trainSpec, Collator train, String evalSpec, int evalExamples, String tokenizer) {
            this.base = base.toString();
            this.train = trainSpec;
            this.data = train;
            this.eval = evalSpec;
            this.evalExamples = evalExamples;
            this.tokenizer = tokenizer;
            return this;
        }

        /** The inputs by content: the base model's fingerprint, SHA-256 of the data files and tokenizer files. */
        public Builder contentHashes(String tokenizerSpec) {
            baseSha256 = ModelFingerprint.of(Path.of(base));
            trainSha256 = dataHash(train);
            evalSha256 = eval == null ? "none" : dataHash(eval);
            tokenizerSha256 = tokenizerHash(tokenizerSpec);
            return this;
        }

        public MethodSettings build() {
            if (data == null) throw new IllegalStateException("inputs are required");
            TrainConfig.Builder jt = Method.wdjt(sft, wdjtEpochs < 1 ? 1 : wdjtEpochs, lambda, freezeWeak);
            if (wdjtLossTokens != null) jt.lossTokens(wdjtLossTokens);
            if (wdjtEpochs < 1) throw new IllegalArgumentException("--epochs must be >= 1, got " + wdjtEpochs);
            return new MethodSettings(command, base, train, eval, tokenizer, data.maxLen(), data.size(), evalExamples,
                    lambda, freezeWeak, selection, wdjtEpochs, maxNew, evalBatch, exportDType, sft, jt.build(), baseSha256,
                    trainSha256, evalSha256, tokenizerSha256, data.truncation());
        }
    }

    /** SHA-256 of a data file, or the spec itself for a built-in set (made from --seed, which is recorded too). */
    static String dataHash(String spec) {
        Path f = Path.of(spec);
        return Files.isRegularFile(f) ? ContentHash.file(f) : spec;
    }

    /** SHA-256 of the tokenizer's files (tokenizer.json and what is read beside it), or "byte". */
    static String tokenizerHash(String spec) {
        if (spec == null || spec.equals("byte")) return String.valueOf(spec);
        Path json = Files.isDirectory(Path.of(spec)) ? Path.of(spec, "tokenizer.json") : Path.of(spec);
        List<Path> files = new ArrayList<>(List.of(json));
        for (String sibling : List.of("tokenizer_config.json", "chat_template.jinja")) {
            if (Files.isRegularFile(json.resolveSibling(sibling))) files.add(json.resolveSibling(sibling));
        }
        return ContentHash.files(files);
    }
}
