package dev.wmss.train.plan;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.wmss.train.data.StrictJson;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a model's memory depends on, read from its config.json alone (no weight is read): the sizes, and the
 * architecture's flags, with the same defaults the native loader applies.
 */
public record ModelShape(String name, long vocab, long hidden, long intermediate, long layers, long heads, long kvHeads,
                         long headDim, boolean tied, boolean attentionBias, boolean qkNorm) {

    /** A model directory (its config.json), a config.json file, or a preset's name ({@link Presets}). */
    public static ModelShape of(String spec) {
        if (Presets.CONFIGS.containsKey(spec)) return ofJson(spec, Presets.CONFIGS.get(spec), Presets.VOCAB.get(spec));
        Path p = Path.of(spec);
        Path file = Files.isDirectory(p) ? p.resolve("config.json") : p;
        try {
            return ofJson(spec, Files.readString(file), null);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + " (a model directory, a config.json or a preset: "
                    + String.join(", ", Presets.CONFIGS.keySet()) + ")", e);
        }
    }

    /** From config.json text; vocab overrides vocab_size when given (a preset's tokenizer). */
    public static ModelShape ofJson(String name, String json, Long vocab) {
        JsonObject o = StrictJson.parse(json).getAsJsonObject();
        String type = str(o, "model_type", "llama");
        long hidden = num(o, "hidden_size", -1), heads = num(o, "num_attention_heads", -1);
        if (hidden < 1 || heads < 1) throw new IllegalArgumentException(name + ": config.json needs hidden_size and num_attention_heads");
        long headDim = num(o, "head_dim", hidden / heads);
        return new ModelShape(name, vocab != null ? vocab : num(o, "vocab_size", -1), hidden, num(o, "intermediate_size", -1),
                num(o, "num_hidden_layers", -1), heads, num(o, "num_key_value_heads", heads), headDim,
                bool(o, "tie_word_embeddings", false), bool(o, "attention_bias", type.equals("qwen2")), type.equals("qwen3"));
    }

    private static long num(JsonObject o, String k, long dflt) {
        JsonElement e = o.get(k);
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber() ? e.getAsLong() : dflt;
    }

    private static boolean bool(JsonObject o, String k, boolean dflt) {
        JsonElement e = o.get(k);
        return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean() ? e.getAsBoolean() : dflt;
    }

    private static String str(JsonObject o, String k, String dflt) {
        JsonElement e = o.get(k);
        return e != null && e.isJsonPrimitive() ? e.getAsString() : dflt;
    }

    public long nq() {
        return heads * headDim;
    }

    public long nkv() {
        return kvHeads * headDim;
    }

    /** One decoder layer's parameters (as the native model builds them). */
    public long layerParameters() {
        return 2 * hidden * nq() + 2 * hidden * nkv() + 3 * hidden * intermediate + 2 * hidden
                + (attentionBias ? nq() + 2 * nkv() : 0) + (qkNorm ? 2 * headDim : 0);
    }

    /** Every parameter: embedding, layers, final norm, and the head unless tied. */
    public long parameters() {
        return vocab * hidden * (tied ? 1 : 2) + layers * layerParameters() + hidden;
    }

    /** The parameters the layers stack into one product per forward (q/k/v and gate/up): copied once more per step. */
    public long stackedParameters() {
        return layers * (hidden * (nq() + 2 * nkv()) + 2 * hidden * intermediate);
    }
}
