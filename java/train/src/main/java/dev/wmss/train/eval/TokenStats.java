package dev.wmss.train.eval;

import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.Entropy;
import dev.wmss.kernels.Logits;
import dev.wmss.runtime.FusedHead;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Batch;
import dev.wmss.train.data.Collator;
import dev.wmss.train.loop.Head;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Per-token statistics of a model on data, without gradients: the token-level loss on the responses and WD-DS's
 * per-example mean answer entropy. The one place evaluation calls the kernels: through the fused head by default
 * (logits one chunk of rows at a time), or on full logits ({@link Head#FULL}).
 */
public final class TokenStats {
    private TokenStats() {}

    /** Mean NLL (nats) per supervised token (response tokens and EOS). */
    public static double tokenLoss(TorchModel m, Collator data, int batch) {
        return tokenLoss(m, data, batch, Head.FUSED);
    }

    public static double tokenLoss(TorchModel m, Collator data, int batch, Head head) {
        double sum = 0;
        long tokens = 0;
        for (int b0 = 0; b0 < data.size(); b0 += batch) {
            try (Arena arena = Arena.ofConfined()) {
                Batch b = data.collate(range(b0, Math.min(data.size(), b0 + batch)));
                MemorySegment labels = arena.allocateFrom(ValueLayout.JAVA_LONG, b.labels());
                if (head.fused()) {
                    forwardHidden(m, b, arena);
                    sum += FusedHead.of(m, null, labels, rows(b)).invNorm(1f).chunkBytes(head.chunkBytes()).run();
                } else {
                    Logits z = forward(m, b, arena);
                    sum += CeMix.of(z, z, labels).lambda(1f).invNorm(1f).run();
                }
                tokens += b.supervised();
            }
        }
        return tokens == 0 ? 0 : sum / tokens;
    }

    /** WD-DS's H: per example, the mean entropy (nats) of the next-token distribution over its answer positions. */
    public static double[] answerEntropy(TorchModel m, Collator data, int batch) {
        return answerEntropy(m, data, batch, Head.FUSED);
    }

    public static double[] answerEntropy(TorchModel m, Collator data, int batch, Head head) {
        return answerEntropy(m, data, batch, head, dev.wmss.train.loop.Progress.NONE);
    }

    /** The same, advancing progress by each batch's examples. */
    public static double[] answerEntropy(TorchModel m, Collator data, int batch, Head head,
                                         dev.wmss.train.loop.Progress progress) {
        double[] h = new double[data.size()];
        for (int b0 = 0; b0 < data.size(); b0 += batch) {
            try (Arena arena = Arena.ofConfined()) {
                Batch b = data.collate(range(b0, Math.min(data.size(), b0 + batch)));
                MemorySegment ent = arena.allocate(4 * rows(b), 8);
                if (head.fused()) {
                    forwardHidden(m, b, arena);
                    FusedHead.of(m, null, arena.allocateFrom(ValueLayout.JAVA_LONG, b.labels()), rows(b))
                            .invNorm(1f).chunkBytes(head.chunkBytes()).entropy(ent).run();
                } else {
                    Entropy.of(forward(m, b, arena), ent).run();
                }
                // the batch knows which rows are answers
                for (int r = 0; r < b.batch(); r++) h[b.examples()[r]] = b.meanOverSupervisedOfRow(ent, r);
            }
            progress.advance(Math.min(batch, data.size() - b0));
        }
        return h;
    }

    /**
     * Teacher-forced exact match, per example: at every supervised position (the response's tokens and EOS) the
     * argmax of the next-token logits, the first maximum on ties as greedy decoding takes it, is the reference token.
     * True exactly when greedy decoding from the prompt reproduces the whole reference response and then stops, so it
     * scores thousands of examples for the cost of one forward each. Through full logits (argmax over the
     * supervised rows only).
     */
    public static boolean[] teacherForcedExactMatch(TorchModel m, Collator data, int batch) {
        return teacherForced(m, data, batch).exactMatch();
    }

    /** Teacher-forced exact match per example and the mean NLL per supervised token, from the same forward. */
    public record TeacherForced(boolean[] exactMatch, double tokenLoss) {}

    /** {@link #teacherForcedExactMatch} and {@link #tokenLoss} of one forward per batch (full logits). */
    public static TeacherForced teacherForced(TorchModel m, Collator data, int batch) {
        boolean[] ok = new boolean[data.size()];
        double nll = 0;
        long tokens = 0;
        for (int b0 = 0; b0 < data.size(); b0 += batch) {
            try (Arena arena = Arena.ofConfined()) {
                Batch b = data.collate(range(b0, Math.min(data.size(), b0 + batch)));
                Logits.Host z = forward(m, b, arena);
                MemorySegment rowLoss = arena.allocate(Math.max(4, 4 * z.rows()), 8);
                CeMix.of(z, z, arena.allocateFrom(ValueLayout.JAVA_LONG, b.labels())).lambda(1f).invNorm(1f)
                        .rowLoss(rowLoss).run();
                long[] labels = b.labels();
                for (int r = 0; r < b.batch(); r++) {
                    boolean all = true, any = false;
                    for (int t = 0; t < b.seq(); t++) {
                        long row = (long) r * b.seq() + t, y = labels[(int) row];
                        if (y == Batch.IGNORE_INDEX) continue;
                        any = true;
                        nll += rowLoss.getAtIndex(ValueLayout.JAVA_FLOAT, row);
                        tokens++;
                        if (all) all = argmax(z, row) == y;
                    }
                    ok[b.examples()[r]] = all && any;
                }
            }
        }
        return new TeacherForced(ok, tokens == 0 ? 0 : nll / tokens);
    }

    /** The first maximum of a row, as greedy decoding takes it. */
    private static int argmax(Logits.Host z, long row) {
        int best = 0;
        float top = z.get(row, 0);
        for (int v = 1; v < z.vocab(); v++) {
            float x = z.get(row, v);
            if (x > top) {
                top = x;
                best = v;
            }
        }
        return best;
    }

    private static long rows(Batch b) {
        return (long) b.batch() * b.seq();
    }

    private static Logits.Host forward(TorchModel m, Batch b, Arena arena) {
        return m.forward(arena.allocateFrom(ValueLayout.JAVA_LONG, b.ids()), arena.allocateFrom(ValueLayout.JAVA_LONG,
                b.mask()), b.batch(), b.seq(), false);
    }

    private static void forwardHidden(TorchModel m, Batch b, Arena arena) {
        m.forwardHidden(arena.allocateFrom(ValueLayout.JAVA_LONG, b.ids()), arena.allocateFrom(ValueLayout.JAVA_LONG,
                b.mask()), b.batch(), b.seq(), false);
    }

    static int[] range(int from, int to) {
        int[] a = new int[to - from];
        for (int i = 0; i < a.length; i++) a[i] = from + i;
        return a;
    }
}
