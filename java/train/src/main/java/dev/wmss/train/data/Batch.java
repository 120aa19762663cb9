package dev.wmss.train.data;

/**
 * A padded batch, row-major [batch, seq]: token ids, attention mask (1 = token), next-token labels (-100 where no
 * loss is taken: prompt tokens and padding), and which example each row came from.
 */
public record Batch(long[] ids, long[] mask, long[] labels, int[] examples, int batch, int seq) {
    /** Supervised (label != -100) positions: the normaliser of the loss. */
    public int supervised() {
        int n = 0;
        for (long l : labels) if (l != -100) n++;
        return n;
    }

    public int tokens() {
        int n = 0;
        for (long m : mask) n += (int) m;
        return n;
    }
}
