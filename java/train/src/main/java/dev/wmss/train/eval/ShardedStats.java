package dev.wmss.train.eval;

import dev.wmss.kernels.torch.TorchModel;
import dev.wmss.train.data.Collator;
import dev.wmss.train.loop.DataParallel;
import dev.wmss.train.loop.Head;

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
        if (!parallel.distributed()) return TokenStats.answerEntropy(m, data, batch, head);
        int[] part = parallel.range(data.size(), batch);
        return parallel.gather(TokenStats.answerEntropy(m, data.slice(part[0], part[1]), batch, head));
    }
}
