package dev.wmss.train.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Tokenises examples as [BOS] prompt response [EOS] (at most maxLen + 1 tokens, cut on the right) and cuts them
 * into right-padded batches with completion-only labels: position t predicts token t + 1, and only response tokens
 * (and EOS) are targets. Epoch orders are seeded permutations, so a run can be replayed exactly.
 */
public final class Batcher {
    private final Tokenizer tok;
    private final int maxLen;
    private final List<int[]> tokens = new ArrayList<>();
    private final int[] responseStart;
    private int dropped;

    public Batcher(List<Example> examples, Tokenizer tok, int maxLen) {
        if (maxLen < 2) throw new IllegalArgumentException("maxLen must be >= 2");
        this.tok = tok;
        this.maxLen = maxLen;
        this.responseStart = new int[examples.size()];
        for (int i = 0; i < examples.size(); i++) {
            int[] p = tok.encode(examples.get(i).prompt()), r = tok.encode(examples.get(i).response());
            int[] all = new int[Math.min(maxLen + 1, p.length + r.length + 1 + (tok.bos() >= 0 ? 1 : 0))];
            int n = 0;
            if (tok.bos() >= 0) all[n++] = tok.bos();
            for (int t : p) if (n < all.length) all[n++] = t;
            responseStart[i] = n;
            for (int t : r) if (n < all.length) all[n++] = t;
            if (n < all.length) all[n++] = tok.eos();
            if (responseStart[i] >= all.length) dropped++; // prompt fills the window: no target left
            tokens.add(all);
        }
    }

    public int size() {
        return tokens.size();
    }

    /** Examples whose prompt alone fills maxLen (they have no supervised token). */
    public int dropped() {
        return dropped;
    }

    /** The prompt tokens of example i (with BOS), for generation. */
    public int[] promptTokens(int i) {
        return Arrays.copyOf(tokens.get(i), responseStart[i]);
    }

    /** Example indices in the order of an epoch: a permutation seeded by (seed, epoch). */
    public static int[] epochOrder(int n, long seed, int epoch) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + epoch);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** The batch of the given example indices, padded to the longest. */
    public Batch batch(int[] which) {
        int seq = 1;
        for (int i : which) seq = Math.max(seq, tokens.get(i).length - 1);
        int b = which.length;
        long[] ids = new long[b * seq], mask = new long[b * seq], labels = new long[b * seq];
        Arrays.fill(ids, tok.pad());
        Arrays.fill(labels, -100);
        for (int r = 0; r < b; r++) {
            int[] t = tokens.get(which[r]);
            for (int k = 0; k + 1 < t.length; k++) {
                ids[r * seq + k] = t[k];
                mask[r * seq + k] = 1;
                if (k + 1 >= responseStart[which[r]]) labels[r * seq + k] = t[k + 1];
            }
        }
        return new Batch(ids, mask, labels, which.clone(), b, seq);
    }

    public int maxLen() {
        return maxLen;
    }
}
