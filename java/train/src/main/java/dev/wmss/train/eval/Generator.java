package dev.wmss.train.eval;

import dev.wmss.kernels.Logits;
import dev.wmss.kernels.torch.TorchModel;
import dev.wmss.train.data.Tokenizer;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/** Greedy decoding, batched, without gradients. */
public final class Generator {
    private Generator() {}

    /** Greedy continuation of each prompt until EOS, maxNew tokens or maxLen; returns the decoded continuations. */
    public static String[] greedy(TorchModel m, Tokenizer tok, int[][] prompts, int maxNew, int maxLen) {
        int n = prompts.length;
        int[][] seq = new int[n][];
        int[] len = new int[n];
        boolean[] done = new boolean[n];
        for (int i = 0; i < n; i++) {
            seq[i] = Arrays.copyOf(prompts[i], prompts[i].length + maxNew);
            len[i] = prompts[i].length;
        }
        for (int t = 0; t < maxNew; t++) {
            try (Arena arena = Arena.ofConfined()) {
                int width = 0;
                for (int i = 0; i < n; i++) width = Math.max(width, len[i]);
                if (width >= maxLen) break;
                long[] ids = new long[n * width], mask = new long[n * width];
                Arrays.fill(ids, tok.pad());
                for (int i = 0; i < n; i++) {
                    for (int k = 0; k < len[i]; k++) {
                        ids[i * width + k] = seq[i][k];
                        mask[i * width + k] = 1;
                    }
                }
                Logits.Host z = m.forward(arena.allocateFrom(ValueLayout.JAVA_LONG, ids),
                        arena.allocateFrom(ValueLayout.JAVA_LONG, mask), n, width, false);
                boolean any = false;
                for (int i = 0; i < n; i++) {
                    if (done[i]) continue;
                    long row = (long) i * width + len[i] - 1;
                    int best = 0;
                    for (int v = 1; v < z.vocab(); v++) if (z.get(row, v) > z.get(row, best)) best = v;
                    if (best == tok.eos()) done[i] = true;
                    else seq[i][len[i]++] = best;
                    any |= !done[i];
                }
                if (!any) break;
            }
        }
        String[] out = new String[n];
        for (int i = 0; i < n; i++) out[i] = tok.decode(seq[i], prompts[i].length, len[i]);
        return out;
    }
}
