package dev.wmss.train.data;

import dev.wmss.kernels.CeMix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A padded batch, row-major [batch, seq]: token ids, attention mask (1 = token), next-token labels
 * ({@link #IGNORE_INDEX} where no loss is taken: prompt tokens and padding), and which example each row came from.
 */
public record Batch(long[] ids, long[] mask, long[] labels, int[] examples, int batch, int seq) {
    /** The label of positions without a target: the kernels' ignore index, the one definition the trainer uses. */
    public static final long IGNORE_INDEX = CeMix.IGNORE_INDEX;

    /** Supervised (label != IGNORE_INDEX) positions: the normaliser of the loss. */
    public int supervised() {
        int n = 0;
        for (long l : labels) if (l != IGNORE_INDEX) n++;
        return n;
    }

    public int tokens() {
        int n = 0;
        for (long m : mask) n += (int) m;
        return n;
    }

    /** The mean of a per-position fp32 value over the supervised positions of the whole batch (0 if none). */
    public double meanOverSupervised(MemorySegment perPosition) {
        return meanOverSupervised(perPosition, 0, labels.length);
    }

    /** The mean over the supervised positions of row r (one example), e.g. its mean answer entropy (0 if none). */
    public double meanOverSupervisedOfRow(MemorySegment perPosition, int r) {
        return meanOverSupervised(perPosition, (long) r * seq, (long) (r + 1) * seq);
    }

    private double meanOverSupervised(MemorySegment v, long from, long to) {
        double s = 0;
        long n = 0;
        for (long p = from; p < to; p++) {
            if (labels[(int) p] == IGNORE_INDEX) continue;
            s += v.getAtIndex(ValueLayout.JAVA_FLOAT, p);
            n++;
        }
        return n == 0 ? 0 : s / n;
    }
}
