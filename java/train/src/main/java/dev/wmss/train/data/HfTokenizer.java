package dev.wmss.train.data;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A Hugging Face tokenizer.json (through DJL's bundled Rust tokenizers, offline). Special tokens come from the
 * tokenizer_config.json beside it (bos_token, eos_token, pad_token); without a BOS token none is prepended, and
 * a missing PAD falls back to EOS (padding is masked anyway).
 */
public final class HfTokenizer implements Tokenizer, AutoCloseable {
    private final HuggingFaceTokenizer tok;
    private final int vocab, bos, eos, pad;
    private final ChatFormat chat;

    private HfTokenizer(HuggingFaceTokenizer tok, int vocab, int bos, int eos, int pad, ChatFormat chat) {
        this.tok = tok;
        this.vocab = vocab;
        this.bos = bos;
        this.eos = eos;
        this.pad = pad;
        this.chat = chat;
    }

    /** file: a tokenizer.json, or a directory holding one. */
    public static HfTokenizer load(Path file) {
        Path json = Files.isDirectory(file) ? file.resolve("tokenizer.json") : file;
        if (!Files.isRegularFile(json)) throw new IllegalArgumentException("tokenizer not found: " + json);
        try {
            JsonObject root = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
            Map<String, Integer> ids = new HashMap<>();
            int max = -1;
            JsonElement model = root.getAsJsonObject("model").get("vocab");
            if (model != null && model.isJsonObject()) {
                for (var e : model.getAsJsonObject().entrySet()) {
                    ids.put(e.getKey(), e.getValue().getAsInt());
                    max = Math.max(max, e.getValue().getAsInt());
                }
            }
            if (root.has("added_tokens")) {
                for (JsonElement t : root.getAsJsonArray("added_tokens")) {
                    int id = t.getAsJsonObject().get("id").getAsInt();
                    ids.put(t.getAsJsonObject().get("content").getAsString(), id);
                    max = Math.max(max, id);
                }
            }
            Path cfgFile = json.resolveSibling("tokenizer_config.json");
            JsonObject cfg = Files.isRegularFile(cfgFile) ? JsonParser.parseString(Files.readString(cfgFile)).getAsJsonObject()
                    : new JsonObject();
            int eos = special(cfg, "eos_token", ids);
            if (eos < 0) throw new IllegalArgumentException(json + ": no eos_token in tokenizer_config.json");
            int bos = special(cfg, "bos_token", ids), pad = special(cfg, "pad_token", ids);
            ChatFormat chat = chatFormat(cfg, json.resolveSibling("chat_template.jinja"), content(cfg, "bos_token"),
                    content(cfg, "eos_token"), cfgFile);
            // no truncation here (DJL's default would cut every text to 512 tokens, whatever tokenizer.json says):
            // --max-len is applied by the Collator, the same way for every tokenizer, and what it cuts is reported
            HuggingFaceTokenizer t = HuggingFaceTokenizer.builder().optTokenizerPath(json).optAddSpecialTokens(false)
                    .optTruncation(false).optPadding(false).build();
            return new HfTokenizer(t, max + 1, bos, eos, pad < 0 ? eos : pad, chat);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + json, e);
        } catch (RuntimeException e) {
            if (e instanceof IllegalArgumentException) throw e;
            throw new IllegalArgumentException(json + ": not a usable tokenizer.json: " + e.getMessage(), e);
        }
    }

    /**
     * tokenizer_config.json's chat_template (a string, or a list of named templates of which "default" is used), else
     * a chat_template.jinja beside it, else {@link ChatFormat#PLAIN}. Parsed now, so a template this renderer cannot
     * handle is reported when the tokenizer loads.
     */
    private static ChatFormat chatFormat(JsonObject cfg, Path jinjaFile, String bos, String eos, Path cfgFile)
            throws IOException {
        JsonElement t = cfg.get("chat_template");
        String source = null, where = cfgFile + ": chat_template";
        if (t != null && t.isJsonPrimitive()) source = t.getAsString();
        if (t != null && t.isJsonArray()) {
            for (JsonElement e : t.getAsJsonArray()) {
                JsonObject o = e.getAsJsonObject();
                if (o.has("name") && o.get("name").getAsString().equals("default")) source = o.get("template").getAsString();
            }
        }
        if (source == null && Files.isRegularFile(jinjaFile)) {
            source = Files.readString(jinjaFile);
            where = jinjaFile.toString();
        }
        if (source == null) return ChatFormat.PLAIN;
        try {
            return new ChatTemplate(source, bos, eos);
        } catch (dev.wmss.train.data.jinja.TemplateException e) {
            throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
        }
    }

    private static String content(JsonObject cfg, String key) {
        JsonElement v = cfg.get(key);
        if (v == null || v.isJsonNull()) return null;
        return v.isJsonObject() ? v.getAsJsonObject().get("content").getAsString() : v.getAsString();
    }

    private static int special(JsonObject cfg, String key, Map<String, Integer> ids) {
        String content = content(cfg, key);
        if (content == null) return -1;
        Integer id = ids.get(content);
        if (id == null) throw new IllegalArgumentException(key + " \"" + content + "\" is not in the vocabulary");
        return id;
    }

    @Override
    public int[] encode(String text) {
        Encoding e = tok.encode(text, false, false);
        long[] ids = e.getIds();
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = (int) ids[i];
        return out;
    }

    @Override
    public String decode(int[] ids, int from, int to) {
        long[] l = new long[to - from];
        for (int i = from; i < to; i++) l[i - from] = ids[i];
        return tok.decode(l, true);
    }

    @Override
    public int vocabSize() {
        return vocab;
    }

    @Override
    public int bos() {
        return bos;
    }

    @Override
    public int eos() {
        return eos;
    }

    @Override
    public int pad() {
        return pad;
    }

    @Override
    public ChatFormat chatFormat() {
        return chat;
    }

    @Override
    public void close() {
        tok.close();
    }
}
