package dev.wmss.train.plan;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What a model's memory depends on, read from its config.json alone (no weight is read): the sizes, and the
 * architecture's flags. The config is read as the native loader reads it ({@link ConfigFields}): every size used here
 * is required (vocab_size unless a preset's tokenizer gives it), num_key_value_heads defaults to num_attention_heads and
 * head_dim to hidden_size / num_attention_heads (the loader's defaults, and no others), and what the loader refuses in
 * these fields (model_type, the sizes, tie_word_embeddings, attention_bias) is refused here too, naming the field and
 * the file: a plan is never made of sizes the model would not have.
 */
public record ModelShape(String name, long vocab, long hidden, long intermediate, long layers, long heads, long kvHeads,
                         long headDim, boolean tied, boolean attentionBias, boolean qkNorm) {

    /** A model directory (its config.json), a config.json file, or a preset's name ({@link Presets}). */
    public static ModelShape of(String spec) {
        if (Presets.CONFIGS.containsKey(spec)) {
            return parse(spec, "preset " + spec, Presets.CONFIGS.get(spec), Presets.VOCAB.get(spec));
        }
        Path p = Path.of(spec);
        Path file = Files.isDirectory(p) ? p.resolve("config.json") : p;
        try {
            return parse(spec, file.toString(), Files.readString(file), null);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + " (a model directory, a config.json or a preset: "
                    + String.join(", ", Presets.CONFIGS.keySet()) + ")", e);
        }
    }

    /** From config.json text; vocab overrides vocab_size when given (a preset's tokenizer); refusals name the config by name. */
    public static ModelShape ofJson(String name, String json, Long vocab) {
        return parse(name, name, json, vocab);
    }

    private static ModelShape parse(String name, String where, String json, Long vocab) {
        ConfigFields c = ConfigFields.parse(json, where);
        String type = c.string("model_type", "llama");
        if (!List.of("llama", "mistral", "qwen2", "qwen3").contains(type)) {
            throw c.refuse("model_type \"" + type + "\" is not supported (llama, mistral, qwen2, qwen3)");
        }
        long v = vocab != null ? vocab : c.size("vocab_size", 1);
        long hidden = c.size("hidden_size", 1), intermediate = c.size("intermediate_size", 1);
        long layers = c.size("num_hidden_layers", 0), heads = c.size("num_attention_heads", 1);
        long kvHeads = c.optionalSize("num_key_value_heads", 1, heads);
        if (heads % kvHeads != 0) {
            throw c.refuse("num_attention_heads " + heads + " is not a multiple of num_key_value_heads " + kvHeads);
        }
        if (!c.present("head_dim") && hidden % heads != 0) {
            throw c.refuse("hidden_size " + hidden + " is not a multiple of num_attention_heads " + heads + " and no head_dim is given");
        }
        long headDim = c.optionalSize("head_dim", 2, hidden / heads);
        if (headDim % 2 != 0) throw c.refuse("head_dim must be even and >= 2 (RoPE rotates pairs), got " + headDim);
        ModelShape s = new ModelShape(name, v, hidden, intermediate, layers, heads, kvHeads, headDim,
                c.bool("tie_word_embeddings", false), c.bool("attention_bias", type.equals("qwen2")), type.equals("qwen3"));
        try {
            s.exactParameters();
        } catch (ArithmeticException e) {
            throw c.refuse("the sizes (hidden_size " + hidden + ", intermediate_size " + intermediate + ", num_hidden_layers "
                    + layers + ", vocab_size " + v + ") give more parameters than can be counted");
        }
        return s;
    }

    /** {@link #parameters}, throwing where a long overflows (then every other count here is within a long too). */
    private long exactParameters() {
        long nq = mul(heads, headDim), nkv = mul(kvHeads, headDim);
        long layer = add(add(mul(mul(2, hidden), add(nq, nkv)), mul(mul(3, hidden), intermediate)), mul(2, hidden));
        layer = add(layer, add(attentionBias ? add(nq, mul(2, nkv)) : 0, qkNorm ? mul(2, headDim) : 0));
        return add(add(mul(layers, layer), mul(mul(vocab, hidden), tied ? 1 : 2)), hidden);
    }

    private static long mul(long a, long b) {
        return Math.multiplyExact(a, b);
    }

    private static long add(long a, long b) {
        return Math.addExact(a, b);
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
