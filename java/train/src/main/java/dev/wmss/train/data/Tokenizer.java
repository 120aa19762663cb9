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

    /** How chat data is rendered for this tokenizer: its own chat template, or {@link ChatFormat#PLAIN}. */
    default ChatFormat chatFormat() {
        return ChatFormat.PLAIN;
    }
}
