package dev.wmss.train.loop;

import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.wmss.train.data.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * Makes a saved model directory complete for Hugging Face (weights and config.json are the native save's): the
 * tokenizer's files beside it (a tokenizer file of another model already there is removed, never kept), and
 * generation_config.json: the source model's own when it has one, else bos and eos ids from the tokenizer. Every
 * model the project writes for a user goes through here: export, `run`'s final/, the training runs' strong/ and weak/.
 */
public final class HfModelDir {
    private HfModelDir() {}

    /** Tokenizer files a Hugging Face model directory may hold (tokenizer.json and its companions). */
    public static final List<String> TOKENIZER_FILES = List.of("tokenizer.json", "tokenizer_config.json",
            "special_tokens_map.json", "chat_template.jinja", "added_tokens.json", "vocab.json", "merges.txt", "tokenizer.model");

    /**
     * Completes dir: tokenizer files (name to source) copied in and other tokenizer files removed; generation_config.json
     * copied from source (the model the weights came from) when it has one, else written from the ids (bos < 0: none;
     * eos < 0: no generation config, the tokenizer being unknown).
     */
    public static void complete(Path dir, Map<String, Path> tokenizerFiles, Path source, int bos, int eos) {
        OutputDir.write(dir, () -> {
            for (String f : TOKENIZER_FILES) { // a tokenizer of another model must not pass for this one's
                if (!tokenizerFiles.containsKey(f)) Files.deleteIfExists(dir.resolve(f));
            }
        });
        OutputDir.copyInto(tokenizerFiles, dir);
        Path generation = dir.resolve("generation_config.json");
        Path carried = source == null ? null : source.resolve("generation_config.json");
        if (carried != null && Files.isRegularFile(carried)) {
            OutputDir.copyInto(Map.of("generation_config.json", carried), dir);
            return;
        }
        if (eos < 0) {
            OutputDir.delete(generation);
            return;
        }
        JsonObject g = new JsonObject();
        if (bos >= 0) g.addProperty("bos_token_id", bos);
        g.addProperty("eos_token_id", eos);
        OutputDir.write(generation, () -> Files.writeString(generation,
                new GsonBuilder().setPrettyPrinting().create().toJson(g) + "\n"));
    }

    /** {@link #complete} with a tokenizer's files and ids. */
    public static void complete(Path dir, Tokenizer tok, Path source) {
        complete(dir, tok.files(), source, tok.bos(), tok.eos());
    }

    /** The tokenizer files of a model directory (empty when it has no tokenizer.json). */
    public static Map<String, Path> tokenizerFilesOf(Path modelDir) {
        return Files.isRegularFile(modelDir.resolve("tokenizer.json"))
                ? dev.wmss.train.data.HfTokenizer.files(modelDir.resolve("tokenizer.json")) : Map.of();
    }

}
