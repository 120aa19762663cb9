package dev.wmss.train;

import com.google.gson.JsonParser;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.HfTokenizer;
import dev.wmss.train.data.Tokenizer;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** --tokenizer: "byte" (built-in, 259 ids) or a Hugging Face tokenizer.json (or its directory). */
final class TokenizerOption {
    private TokenizerOption() {}

    static Tokenizer load(String spec) {
        return spec.equals("byte") ? new ByteTokenizer() : HfTokenizer.load(Path.of(spec));
    }

    /**
     * The model directory exists and its vocabulary covers every id the tokenizer produces. Reads config.json only,
     * so a large checkpoint is not loaded twice.
     */
    static void check(Tokenizer tok, Path model, String option) {
        Runs.requireModel(model, option);
        long vocab;
        try {
            vocab = JsonParser.parseString(Files.readString(model.resolve("config.json"))).getAsJsonObject()
                    .get("vocab_size").getAsLong();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + model.resolve("config.json"), e);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(model.resolve("config.json") + ": no usable vocab_size", e);
        }
        if (vocab < tok.vocabSize()) {
            throw new IllegalArgumentException(option + " " + model + " has a vocabulary of " + vocab
                    + " but the tokenizer produces ids up to " + (tok.vocabSize() - 1));
        }
    }
}
