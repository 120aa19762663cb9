package dev.wmss.train.data;

/** Text to token ids and back, with the special ids the batcher needs. */
public interface Tokenizer {
    int[] encode(String text);

    String decode(int[] ids, int from, int to);

    int vocabSize();

    /** The id prepended to every example, or -1 for none. */
    int bos();

    int eos();

    int pad();

    /** How chat data is rendered for this tokenizer: its own chat template, or {@link ChatFormat#NONE} (refused). */
    default ChatFormat chatFormat() {
        return ChatFormat.NONE;
    }

    /** The text of the BOS and EOS tokens, as a chat template writes them ({@code null}: none). */
    default String bosText() {
        return null;
    }

    default String eosText() {
        return null;
    }

    /**
     * The files that make this tokenizer loadable by Hugging Face beside a model (name in the model directory to
     * source file): tokenizer.json, tokenizer_config.json and the like; none for the built-in byte tokenizer.
     */
    default java.util.Map<String, java.nio.file.Path> files() {
        return java.util.Map.of();
    }

    /** This tokenizer with another chat format (--chat-template). */
    default Tokenizer withChatFormat(ChatFormat chat) {
        Tokenizer base = this;
        return new Tokenizer() {
            @Override
            public int[] encode(String text) {
                return base.encode(text);
            }

            @Override
            public String decode(int[] ids, int from, int to) {
                return base.decode(ids, from, to);
            }

            @Override
            public int vocabSize() {
                return base.vocabSize();
            }

            @Override
            public int bos() {
                return base.bos();
            }

            @Override
            public int eos() {
                return base.eos();
            }

            @Override
            public int pad() {
                return base.pad();
            }

            @Override
            public ChatFormat chatFormat() {
                return chat;
            }

            @Override
            public String bosText() {
                return base.bosText();
            }

            @Override
            public String eosText() {
                return base.eosText();
            }

            @Override
            public java.util.Map<String, java.nio.file.Path> files() {
                return base.files();
            }
        };
    }
}
