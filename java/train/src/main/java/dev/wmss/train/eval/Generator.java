package dev.wmss.train.eval;

import dev.wmss.runtime.GreedyReference;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Tokenizer;

/**
 * Greedy decoding, batched, without gradients: {@link #greedy} through the model's KV cache (the prompts run once,
 * then one token per step for the rows still decoding); {@link #greedyByRecomputing}, which re-runs the whole
 * sequences at every step, is the reference it is tested against.
 */
public final class Generator {
    private Generator() {}

    /** Greedy continuation of each prompt until EOS, maxNew tokens or maxLen; returns the decoded continuations. */
    public static String[] greedy(TorchModel m, Tokenizer tok, int[][] prompts, int maxNew, int maxLen) {
        return decode(tok, m.generate(prompts, maxNew, maxLen, tok.eos()));
    }

    /** The same decoding by re-running every sequence whole at each step (slow: the reference). */
    public static String[] greedyByRecomputing(TorchModel m, Tokenizer tok, int[][] prompts, int maxNew, int maxLen) {
        return decode(tok, GreedyReference.generate(m, prompts, maxNew, maxLen, tok.eos()));
    }

    private static String[] decode(Tokenizer tok, int[][] made) {
        String[] out = new String[made.length];
        for (int i = 0; i < made.length; i++) out[i] = tok.decode(made[i], 0, made[i].length);
        return out;
    }
}
