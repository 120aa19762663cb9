package dev.wmss.train.cli;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.ChatFormat;
import dev.wmss.train.data.ChatTemplate;
import dev.wmss.train.data.Example;
import dev.wmss.train.data.HfTokenizer;
import dev.wmss.train.data.JsonlReader;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.train.task.ArithmeticTasks;
import picocli.CommandLine;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The options several commands share, each declared once as a picocli mixin: --data, --tokenizer and --chat-template, --out, --seed,
 * --max-len, --model, --selection, --lambda and --freeze-weak, --device and --precision, --head and --head-chunk-mb. A command that gives one
 * of them another default says so with {@link Defaults}.
 */
final class SharedOptions {
    private SharedOptions() {}

    /** --data: exactly "builtin:train" or "builtin:test" (the built-in task), anything else a JSONL path. */
    static final class Data {
        static final int TRAIN = 2000, TEST = 200, LEVELS = 2;

        @Option(names = "--data", required = true, paramLabel = "D",
                description = "JSONL file, or builtin:train / builtin:test (the built-in task; an existing file of that"
                        + " name wins).")
        String spec;
        /** The option the spec came from, for messages (other commands read data from --train, --eval). */
        String option = "--data";

        /** A data spec given under another option's name. */
        static Data named(String option, String spec) {
            Data d = new Data();
            d.option = option;
            d.spec = spec;
            return d;
        }

        /** The examples; chat lines rendered with the tokenizer's chat template. seed: of the built-in task. */
        List<Example> load(long seed, Tokenizer tok) {
            Path file = file();
            return file == null ? builtin(seed) : JsonlReader.read(file, tok.chatFormat());
        }

        /** The examples as JSON objects (the lines of the file, or prompt/response objects of the built-in task). */
        List<JsonObject> objects(long seed) {
            Path file = file();
            if (file != null) return JsonlReader.readObjects(file);
            List<JsonObject> out = new ArrayList<>();
            for (Example e : builtin(seed)) {
                JsonObject o = new JsonObject();
                o.addProperty("prompt", e.prompt());
                o.addProperty("response", e.response());
                out.add(o);
            }
            return out;
        }

        /** The file named, or null for a built-in set. */
        private Path file() {
            Path file = Path.of(spec);
            if (Files.exists(file)) {
                if (Files.isDirectory(file)) throw new IllegalArgumentException(option + " " + spec + " is a directory, not a JSONL file");
                return file;
            }
            if (spec.equals("builtin:train") || spec.equals("builtin:test")) return null;
            if (spec.startsWith("builtin")) {
                throw new IllegalArgumentException(option + " " + spec + ": no such file, and the built-in sets are exactly"
                        + " builtin:train and builtin:test");
            }
            return file; // the reader says it is not found
        }

        private List<Example> builtin(long seed) {
            ArithmeticTasks.Split s = ArithmeticTasks.splits(TRAIN, TEST, LEVELS, seed);
            return spec.equals("builtin:test") ? s.test() : s.train();
        }
    }

    /**
     * --tokenizer: "byte" (built in) or a Hugging Face tokenizer.json (or its directory); by default the model's own
     * (the tokenizer.json in its directory), else byte. A tokenizer other than the one in the model's directory is
     * refused (the model was not built for its ids). --chat-template: how chat data is rendered when the tokenizer
     * has no chat template of its own (a Jinja file, or "plain").
     */
    static final class TokenizerOption {
        @Option(names = "--tokenizer", paramLabel = "T",
                description = "byte (built in, 259 ids) or a Hugging Face tokenizer.json or its directory (default: the"
                        + " tokenizer.json in the model's directory, else byte).")
        String spec;
        @Option(names = "--chat-template", paramLabel = "FILE|plain",
                description = "Chat data (\"messages\"): a Jinja chat template file to render it with, or plain (one"
                        + " \"role: content\" line per message). Default: the tokenizer's own chat_template; chat data"
                        + " without one is refused.")
        String chatTemplate;

        /** What was used, for run.json: "byte" or the tokenizer.json's path. */
        String resolved = "byte";

        /** The tokenizer for the model in dir (named by option in messages), checked against it; see the class. */
        Tokenizer load(Path model, String option) {
            CommandFiles.requireModel(model, option);
            Path own = model.resolve("tokenizer.json");
            Tokenizer tok;
            if (spec == null) {
                tok = Files.isRegularFile(own) ? HfTokenizer.load(own) : new ByteTokenizer();
                if (tok instanceof HfTokenizer) {
                    org.slf4j.LoggerFactory.getLogger("dev.wmss.train").info("tokenizer: {} (the model's own)", own);
                }
            } else {
                tok = spec.equals("byte") ? new ByteTokenizer() : HfTokenizer.load(Path.of(spec));
            }
            resolved = tok instanceof HfTokenizer h ? h.file().toString() : "byte";
            check(tok, model, option);
            return withChatTemplate(tok);
        }

        /** Another model the same tokenizer feeds (wmss: the weak model beside the strong one). */
        void check(Tokenizer tok, Path model, String option) {
            CommandFiles.requireModel(model, option);
            long vocab = vocabSize(model, option);
            Path own = model.resolve("tokenizer.json");
            if (Files.isRegularFile(own)) {
                if (!(tok instanceof HfTokenizer h)) {
                    throw new IllegalArgumentException(option + " " + model + " holds its own tokenizer.json, but "
                            + (spec == null ? "the tokenizer in use is the byte tokenizer (the other model has no"
                            + " tokenizer.json): pass --tokenizer " + own : "--tokenizer byte was given: the model was built"
                            + " for its tokenizer's ids, not bytes (omit --tokenizer to use the model's)"));
                }
                if (!h.file().toAbsolutePath().normalize().equals(own.toAbsolutePath().normalize())) {
                    String diff;
                    try (HfTokenizer models = HfTokenizer.load(own)) {
                        diff = vocabularyDifference(models.vocabulary(), h.vocabulary());
                    }
                    if (diff != null) {
                        throw new IllegalArgumentException("--tokenizer " + h.file() + " is not the tokenizer " + option + " "
                                + model + " was built for (its tokenizer.json): " + diff + " (omit --tokenizer to use the"
                                + " model's)");
                    }
                }
            } else if (spec == null && tok instanceof ByteTokenizer && vocab != ByteTokenizer.VOCAB) {
                throw new IllegalArgumentException(option + " " + model + " has a vocabulary of " + vocab + " and no"
                        + " tokenizer.json beside its config.json, so the built-in byte tokenizer (" + ByteTokenizer.VOCAB
                        + " ids) would feed it ids it was not built for: pass --tokenizer (the model's tokenizer.json or its"
                        + " directory), or --tokenizer byte if the model was made for bytes");
            }
            if (vocab < tok.vocabSize()) {
                throw new IllegalArgumentException(option + " " + model + " has a vocabulary of " + vocab
                        + " but the tokenizer produces ids up to " + (tok.vocabSize() - 1));
            }
        }

        /** The first token that two vocabularies map differently, in words; null when they agree. */
        private static String vocabularyDifference(java.util.Map<String, Integer> model, java.util.Map<String, Integer> given) {
            if (model.equals(given)) return null;
            for (var e : new java.util.TreeMap<>(given).entrySet()) {
                Integer m = model.get(e.getKey());
                if (!e.getValue().equals(m)) {
                    return "it maps \"" + e.getKey() + "\" to id " + e.getValue() + ", the model's tokenizer "
                            + (m == null ? "does not have it" : "to id " + m);
                }
            }
            return "the model's tokenizer has " + (model.size() - given.size()) + " tokens more";
        }

        private Tokenizer withChatTemplate(Tokenizer tok) {
            if (chatTemplate == null) return tok;
            if (chatTemplate.equals("plain")) return tok.withChatFormat(ChatFormat.PLAIN);
            Path file = Path.of(chatTemplate);
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("--chat-template " + chatTemplate + ": no such file (a Jinja chat"
                        + " template, or plain)");
            }
            try {
                return tok.withChatFormat(new ChatTemplate(Files.readString(file), tok.bosText(), tok.eosText()));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
            } catch (dev.wmss.train.data.jinja.TemplateException e) {
                throw new IllegalArgumentException("--chat-template " + file + ": " + e.getMessage(), e);
            }
        }
    }

    /** --out: where a command writes. */
    static final class Out {
        @Option(names = "--out", required = true, paramLabel = "PATH",
                description = "Output: a run directory (sft, wmss, demo), a JSONL file (entropy, select) or a model"
                        + " directory (export).")
        Path path;
    }

    static final class Seed {
        @Option(names = "--seed", defaultValue = "1", paramLabel = "N",
                description = "Seed of data order, sampling and the built-in task (default ${DEFAULT-VALUE}).")
        long value;
    }

    static final class MaxLen {
        @Option(names = "--max-len", defaultValue = "256", paramLabel = "N",
                description = "Tokens per example (default ${DEFAULT-VALUE}).")
        int value;

        int checked() {
            if (value < 2) throw new IllegalArgumentException("--max-len must be >= 2, got " + value);
            return value;
        }
    }

    /** --lambda, --freeze-weak: WD-JT's mixing weight and whether the weak model trains (demo, run, wmss). */
    static final class Joint {
        @Option(names = "--lambda", defaultValue = "0.5", paramLabel = "L",
                description = "WD-JT weight of the strong logits, in [0, 1] (default ${DEFAULT-VALUE}).")
        float lambda;
        @Option(names = "--freeze-weak", description = "Keep the weak model fixed during WD-JT (train the strong one only).")
        boolean freezeWeak;
    }

    /**
     * --device, --precision: where a command's models run (every command that runs a model). Main applies it to
     * {@link dev.wmss.train.loop.Placement} before the command runs; a mixin named "placement" is found there.
     */
    static final class DeviceOption {
        @Option(names = "--device", paramLabel = "cpu|cuda[:N]",
                description = "Where the models run: cpu, cuda or cuda:N (default: cuda:0 when this build has CUDA and"
                        + " a device is visible, else cpu).")
        String device;
        @Option(names = "--precision", paramLabel = "fp32|bf16",
                description = "fp32, or bf16 matrix products and activations with fp32 master weights and AdamW state"
                        + " (default: bf16 on CUDA, fp32 on the CPU).")
        Precision precision;

        enum Precision { FP32, BF16 }

        dev.wmss.train.loop.Placement resolve() {
            return dev.wmss.train.loop.Placement.resolve(device, precision == null ? null
                    : precision == Precision.BF16 ? dev.wmss.kernels.DType.BF16 : dev.wmss.kernels.DType.F32);
        }
    }

    /** --head, --head-chunk-mb: how the loss meets the vocabulary (training and entropy commands). */
    static final class HeadOption {
        @Option(names = "--head", defaultValue = "fused", paramLabel = "fused|full",
                description = "fused: the head, the mix and the cross-entropy in chunks of rows, never the whole N x V"
                        + " logits; full: materialise the logits (the reference path) (default ${DEFAULT-VALUE}).")
        dev.wmss.train.loop.Head.Mode mode;
        @Option(names = "--head-chunk-mb", paramLabel = "MB",
                description = "Fused head: MiB of logits (all models) per chunk of rows (default 320 on the CPU,"
                        + " 1024 on CUDA).")
        Long chunkMb;

        dev.wmss.train.loop.Head value() {
            if (chunkMb == null) {
                return new dev.wmss.train.loop.Head(mode, dev.wmss.train.loop.Placement.current().defaultHeadChunkBytes());
            }
            return new dev.wmss.train.loop.Head(mode, chunkBytes(chunkMb));
        }

        /** --head-chunk-mb in bytes, as every command that takes it checks it (training, bench-step, plan). */
        static long chunkBytes(long chunkMb) {
            if (chunkMb < 1 || chunkMb > (Long.MAX_VALUE >> 20)) {
                throw new IllegalArgumentException("--head-chunk-mb must be >= 1, got " + chunkMb);
            }
            return chunkMb << 20;
        }
    }

    /** --model: the model a command reads (sft, entropy, eval, export). */
    static final class ModelOption {
        @Option(names = "--model", required = true, paramLabel = "DIR",
                description = "Model directory (config.json + safetensors): e.g. a base model, a run's strong/, or"
                        + " checkpoints/step-N/strong.")
        Path dir;
    }

    /** --selection: the WD-DS variant (run, demo, wmss); wmss's default is NONE ({@link Defaults}). */
    static final class SelectionOption {
        @Option(names = "--selection", paramLabel = "CODE|PAPER|NONE",
                description = "WD-DS variant: CODE (the authors' code), PAPER (arXiv v2) or NONE (every example once);"
                        + " any case (default ${DEFAULT-VALUE}).")
        dev.wmss.train.select.Selection.Variant variant;
    }

    /** Per-command defaults of shared options: eval reads builtin:test, demo writes to wmss-demo, wmss selects NONE. */
    static final class Defaults implements CommandLine.IDefaultValueProvider {
        @Override
        public String defaultValue(CommandLine.Model.ArgSpec arg) {
            if (!(arg instanceof CommandLine.Model.OptionSpec o)) return null;
            String command = arg.command().name();
            if (command.equals("eval") && o.longestName().equals("--data")) return "builtin:test";
            if (command.equals("demo") && o.longestName().equals("--out")) return "wmss-demo";
            if (o.longestName().equals("--selection")) return command.equals("wmss") ? "NONE" : "CODE";
            return null;
        }
    }

    /** config.json's vocab_size of a model directory (reads config.json only: a large checkpoint is not loaded). */
    static long vocabSize(Path model, String option) {
        Path config = model.resolve("config.json");
        JsonElement root;
        try {
            root = dev.wmss.train.data.StrictJson.parse(Files.readString(config));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + config + ": " + e.getMessage(), e);
        } catch (JsonParseException e) {
            throw new IllegalArgumentException(option + ": " + config + " is not usable JSON: " + e.getMessage());
        }
        JsonElement v = root.isJsonObject() ? root.getAsJsonObject().get("vocab_size") : null;
        if (!root.isJsonObject()) throw new IllegalArgumentException(option + ": " + config + " is not a JSON object");
        if (v == null || !v.isJsonPrimitive() || !v.getAsJsonPrimitive().isNumber()) {
            throw new IllegalArgumentException(option + ": " + config + " has no numeric vocab_size");
        }
        return v.getAsLong();
    }
}
