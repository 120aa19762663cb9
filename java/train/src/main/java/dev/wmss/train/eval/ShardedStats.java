package dev.wmss.train.eval;

import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Collator;
import dev.wmss.train.loop.DataParallel;
import dev.wmss.train.loop.Head;
import dev.wmss.train.loop.Progress;

/**
 * {@link TokenStats} shared by data-parallel ranks: each computes whole batches of its part and the parts are
 * gathered in index order, so every rank ends with every value, each computed on the very batch one process
 * would use (the parts start at multiples of the batch size). In one process, the plain computation.
 */
public final class ShardedStats {
    private ShardedStats() {}

    /** WD-DS's H for every example of data under m (every rank must call it, with the same data and batch). */
    public static double[] answerEntropy(DataParallel parallel, TorchModel m, Collator data, int batch) {
        return answerEntropy(parallel, m, data, batch, Head.FUSED);
    }

    /** The same through the given LM head path. */
    public static double[] answerEntropy(DataParallel parallel, TorchModel m, Collator data, int batch, Head head) {
        return answerEntropy(parallel, m, data, batch, head, null);
    }

    /**
     * The same with progress named task (null: none): a bar or periodic log lines on rank 0, over its own part (the
     * ranks' parts are the same size but for the last).
     */
    public static double[] answerEntropy(DataParallel parallel, TorchModel m, Collator data, int batch, Head head,
                                         String task) {
        int[] part = parallel.distributed() ? parallel.range(data.size(), batch) : new int[]{0, data.size()};
        Collator mine = parallel.distributed() ? data.slice(part[0], part[1]) : data;
        double[] h;
        try (Progress p = task == null || !parallel.isRoot() ? Progress.NONE : Progress.start(task, mine.size())) {
            h = TokenStats.answerEntropy(m, mine, batch, head, p);
        }
        return parallel.distributed() ? parallel.gather(h) : h;
    }
}
