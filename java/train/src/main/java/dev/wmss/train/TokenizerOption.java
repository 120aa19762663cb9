package dev.wmss.train;

import dev.wmss.kernels.torch.TorchModel;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.HfTokenizer;
import dev.wmss.train.data.Tokenizer;

import java.nio.file.Path;

/** --tokenizer: "byte" (built-in, 259 ids) or a Hugging Face tokenizer.json (or its directory). */
final class TokenizerOption {
    private TokenizerOption() {}

    static Tokenizer load(String spec) {
        return spec.equals("byte") ? new ByteTokenizer() : HfTokenizer.load(Path.of(spec));
    }

    /** The model's vocabulary must cover every id the tokenizer produces. */
    static void check(Tokenizer tok, Path model) {
        Runs.requireModel(model, "model");
        try (TorchModel m = TorchModel.load(model)) {
            if (m.vocab() < tok.vocabSize()) {
                throw new IllegalArgumentException("model " + model + " has a vocabulary of " + m.vocab()
                        + " but the tokenizer produces ids up to " + (tok.vocabSize() - 1));
            }
        }
    }
}
