package dev.wmss.train.data;

import java.nio.charset.StandardCharsets;

/**
 * The built-in tokenizer: one token per UTF-8 byte (ids 0..255) plus BOS 256, EOS 257, PAD 258. Needs no files,
 * so the demo and the tests run offline on any text.
 */
public final class ByteTokenizer implements Tokenizer {
    public static final int BOS = 256, EOS = 257, PAD = 258, VOCAB = 259;

    @Override
    public int[] encode(String text) {
        byte[] b = text.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[b.length];
        for (int i = 0; i < b.length; i++) ids[i] = b[i] & 0xFF;
        return ids;
    }

    @Override
    public String decode(int[] ids, int from, int to) {
        byte[] b = new byte[to - from];
        int n = 0;
        for (int i = from; i < to; i++) if (ids[i] < 256) b[n++] = (byte) ids[i];
        return new String(b, 0, n, StandardCharsets.UTF_8);
    }

    @Override
    public int vocabSize() {
        return VOCAB;
    }

    @Override
    public int bos() {
        return BOS;
    }

    @Override
    public int eos() {
        return EOS;
    }

    @Override
    public int pad() {
        return PAD;
    }
}
