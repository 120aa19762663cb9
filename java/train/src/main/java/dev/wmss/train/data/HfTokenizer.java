package dev.wmss.train.data;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
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
    private final Path file;
    private final Map<String, Integer> ids;
    private final String bosText, eosText;

    private HfTokenizer(HuggingFaceTokenizer tok, int vocab, int bos, int eos, int pad, ChatFormat chat, Path file,
                        Map<String, Integer> ids, String bosText, String eosText) {
        this.tok = tok;
        this.file = file;
        this.ids = ids;
        this.bosText = bosText;
        this.eosText = eosText;
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
        Path cfgFile = json.resolveSibling("tokenizer_config.json");
        Map<String, Integer> ids = new HashMap<>();
        int max = -1;
        try {
            JsonObject root = object(json);
            JsonElement model = root.get("model");
            if (model == null || !model.isJsonObject()) {
                throw new IllegalArgumentException(json + ": not a Hugging Face tokenizer.json (it has no \"model\""
                        + " object; the file a model repository ships as tokenizer.json has one)");
            }
            JsonElement vocab = model.getAsJsonObject().get("vocab");
            if (vocab != null && vocab.isJsonObject()) { // BPE, WordPiece, WordLevel: token -> id
                for (var e : vocab.getAsJsonObject().entrySet()) {
                    ids.put(e.getKey(), e.getValue().getAsInt());
                    max = Math.max(max, e.getValue().getAsInt());
                }
            } else if (vocab != null && vocab.isJsonArray()) { // Unigram: [token, score] at its id
                for (JsonElement e : vocab.getAsJsonArray()) {
                    ids.put(e.getAsJsonArray().get(0).getAsString(), ++max);
                }
            }
            if (root.has("added_tokens")) {
                for (JsonElement t : root.getAsJsonArray("added_tokens")) {
                    int id = t.getAsJsonObject().get("id").getAsInt();
                    ids.put(t.getAsJsonObject().get("content").getAsString(), id);
                    max = Math.max(max, id);
                }
            }
            if (max < 0) throw new IllegalArgumentException(json + ": the tokenizer has no tokens (an empty vocabulary)");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + json + ": " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw e;
        } catch (RuntimeException e) { // a field of the wrong JSON type (gson's ClassCastException, IllegalStateException)
            throw new IllegalArgumentException(json + ": not a usable tokenizer.json: " + describe(e), e);
        }
        // tokenizer_config.json is its own file, with its own errors
        JsonObject cfg;
        int bos, eos, pad;
        ChatFormat chat;
        try {
            cfg = Files.isRegularFile(cfgFile) ? object(cfgFile) : new JsonObject();
            eos = special(cfg, "eos_token", ids);
            if (eos < 0) throw new IllegalArgumentException("no eos_token (every example ends with it)");
            bos = special(cfg, "bos_token", ids);
            pad = special(cfg, "pad_token", ids);
            chat = chatFormat(cfg, json.resolveSibling("chat_template.jinja"), content(cfg, "bos_token"),
                    content(cfg, "eos_token"), cfgFile);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + cfgFile + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            String why = e instanceof IllegalArgumentException ? e.getMessage() : describe(e);
            throw new IllegalArgumentException(why.startsWith(cfgFile.toString()) || why.contains("chat_template")
                    ? why : cfgFile + (Files.isRegularFile(cfgFile) ? "" : " (absent)") + ": " + why, e);
        }
        try {
            // no truncation here (DJL's default would cut every text to 512 tokens, whatever tokenizer.json says):
            // --max-len is applied by the Collator, the same way for every tokenizer, and what it cuts is reported
            HuggingFaceTokenizer t = HuggingFaceTokenizer.builder().optTokenizerPath(json).optAddSpecialTokens(false)
                    .optTruncation(false).optPadding(false).build();
            return new HfTokenizer(t, max + 1, bos, eos, pad < 0 ? eos : pad, chat, json, Map.copyOf(ids),
                    content(cfg, "bos_token"), content(cfg, "eos_token"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + json + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(json + ": not a usable tokenizer.json: " + describe(e), e);
        }
    }

    /** A JSON file that must hold an object; a syntax error names the file. */
    private static JsonObject object(Path file) throws IOException {
        JsonElement e;
        try {
            e = StrictJson.parse(Files.readString(file));
        } catch (com.google.gson.JsonParseException ex) {
            throw new IllegalArgumentException(file + " is not valid JSON: " + describe(ex), ex);
        }
        if (!e.isJsonObject()) throw new IllegalArgumentException(file + " is not a JSON object");
        return e.getAsJsonObject();
    }

    private static String describe(Throwable e) {
        if (e instanceof com.google.gson.JsonParseException && e.getMessage() != null) return e.getMessage(); // StrictJson's
        Throwable c = e;
        while (c.getCause() != null && c.getCause() != c) c = c.getCause();
        String m = c.getMessage() != null ? c.getMessage() : e.getMessage();
        return m != null ? StrictJson.plain(m) : e.getClass().getSimpleName();
    }

    /**
     * tokenizer_config.json's chat_template (a string, or a list of named templates of which "default" is used), else
     * a chat_template.jinja beside it, else {@link ChatFormat#NONE} (chat data refused). Parsed now, so a template this renderer cannot
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
        if (source == null) return ChatFormat.NONE;
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
    public String bosText() {
        return bosText;
    }

    @Override
    public String eosText() {
        return eosText;
    }

    /** Token to id, over the model's vocabulary and the added tokens: what a model built for it has learned. */
    public Map<String, Integer> vocabulary() {
        return ids;
    }

    /** The tokenizer.json this was loaded from. */
    public Path file() {
        return file;
    }

    /** Files beside tokenizer.json that Hugging Face reads with it (copied with a model: {@link Tokenizer#files}). */
    private static final List<String> COMPANIONS = List.of("tokenizer_config.json", "special_tokens_map.json",
            "chat_template.jinja", "added_tokens.json", "vocab.json", "merges.txt", "tokenizer.model");

    @Override
    public Map<String, Path> files() {
        return files(file);
    }

    /** A tokenizer.json and the files beside it that Hugging Face reads with it, by their names in a model directory. */
    public static Map<String, Path> files(Path tokenizerJson) {
        Map<String, Path> out = new java.util.LinkedHashMap<>();
        out.put("tokenizer.json", tokenizerJson);
        for (String f : COMPANIONS) {
            Path p = tokenizerJson.resolveSibling(f);
            if (Files.isRegularFile(p)) out.put(f, p);
        }
        return out;
    }

    @Override
    public void close() {
        tok.close();
    }
}
