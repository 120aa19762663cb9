package dev.wmss.runtime;

import dev.wmss.kernels.Logits;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * Greedy decoding without a cache, the reference {@link TorchModel#generate} is tested and benchmarked against: at
 * every step the whole right-padded sequences run through {@link TorchModel#forward} (N×V logits for every
 * position) and the argmax of each row's last position is taken here. Same contract as generate; slow.
 */
public final class GreedyReference {
    private GreedyReference() {}

    public static int[][] generate(TorchModel m, int[][] prompts, int maxNew, int maxLen, int eos) {
        int n = prompts.length;
        int[][] seq = new int[n][];
        int[] len = new int[n];
        boolean[] done = new boolean[n];
        for (int i = 0; i < n; i++) {
            seq[i] = Arrays.copyOf(prompts[i], prompts[i].length + maxNew);
            len[i] = prompts[i].length;
        }
        for (int t = 0; t < maxNew; t++) {
            int width = Arrays.stream(len).max().orElse(0);
            if (width >= maxLen) break;
            try (Arena arena = Arena.ofConfined()) {
                long[] ids = new long[n * width], mask = new long[n * width];
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
                    if (best == eos) done[i] = true;
                    else seq[i][len[i]++] = best;
                    any |= !done[i];
                }
                if (!any) break;
            }
        }
        int[][] out = new int[n][];
        for (int i = 0; i < n; i++) out[i] = Arrays.copyOfRange(seq[i], prompts[i].length, len[i]);
        return out;
    }
}
