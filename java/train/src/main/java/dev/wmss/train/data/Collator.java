package dev.wmss.train.data;

import dev.wmss.train.settings.Setting;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;

/**
 * Tokenises examples once as [BOS] prompt response [EOS] (at most maxLen + 1 tokens, cut on the right) and collates
 * them into right-padded batches with completion-only labels: position t predicts token t + 1, and only response
 * tokens (and EOS) are targets (or, on request, every token: {@link #collate(int[], boolean)}). A response whose own tokens already end with EOS (a chat template's end of turn)
 * gets no second one.
 */
public final class Collator {
    /** Above this share of examples without an answer token within maxLen, training refuses to start. */
    public static final double MAX_WITHOUT_ANSWER = 0.10;

    private final Tokenizer tok;
    private final int maxLen;
    private final List<int[]> tokens = new ArrayList<>();
    private final int[] responseStart, fullLength;
    private int dropped;

    /** What --max-len cut off: examples longer than the window and their tokens beyond it. */
    public record Truncation(@Setting("examples cut by --max-len") int examples,
                             @Setting("tokens cut by --max-len") long tokens,
                             @Setting("training examples") int total, @Setting("--max-len") int maxLen) {
        /** One line for the log, or null when nothing was cut. */
        public String describe() {
            if (examples == 0) return null;
            return String.format(Locale.ROOT, "%d of %d examples are longer than --max-len %d: cut on the right, %d tokens"
                    + " dropped", examples, total, maxLen, tokens);
        }
    }

    public Collator(List<Example> examples, Tokenizer tok, int maxLen) {
        if (maxLen < 2) throw new IllegalArgumentException("--max-len must be >= 2, got " + maxLen);
        this.tok = tok;
        this.maxLen = maxLen;
        this.responseStart = new int[examples.size()];
        this.fullLength = new int[examples.size()];
        for (int i = 0; i < examples.size(); i++) {
            int[] p = tok.encode(examples.get(i).prompt()), r = tok.encode(examples.get(i).response());
            boolean endsWithEos = r.length > 0 && r[r.length - 1] == tok.eos();
            int full = (tok.bos() >= 0 ? 1 : 0) + p.length + r.length + (endsWithEos ? 0 : 1);
            fullLength[i] = full;
            int[] all = new int[Math.min(maxLen + 1, full)];
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

    private Collator(Collator all, int from, int to) {
        this.tok = all.tok;
        this.maxLen = all.maxLen;
        this.tokens.addAll(all.tokens.subList(from, to));
        this.responseStart = Arrays.copyOfRange(all.responseStart, from, to);
        this.fullLength = Arrays.copyOfRange(all.fullLength, from, to);
        for (int i = from; i < to; i++) if (all.responseStart[i] >= all.tokens.get(i).length) dropped++;
    }

    /** Examples [from, to) as their own collator (index 0 is example from), e.g. one data-parallel rank's part. */
    public Collator slice(int from, int to) {
        if (from < 0 || to > size() || from > to) throw new IndexOutOfBoundsException("[" + from + ", " + to + ") of " + size());
        return new Collator(this, from, to);
    }

    public int size() {
        return tokens.size();
    }

    public int maxLen() {
        return maxLen;
    }

    /**
     * Examples longer than maxLen + 1 tokens ([BOS] prompt response [EOS]; the one token past the window is a target
     * only) and the tokens cut off them: the only truncation there is, the same for every tokenizer.
     */
    public Truncation truncation() {
        int n = 0;
        long cut = 0;
        for (int i = 0; i < tokens.size(); i++) {
            int lost = fullLength[i] - tokens.get(i).length;
            if (lost > 0) {
                n++;
                cut += lost;
            }
        }
        return new Truncation(n, cut, size(), maxLen);
    }

    /** Examples whose prompt alone fills maxLen (they have no supervised token). */
    public int dropped() {
        return dropped;
    }

    /**
     * Refuses data of which more than {@link #MAX_WITHOUT_ANSWER} of the examples have no answer token within
     * maxLen (they would train on nothing), saying how many and which --max-len would fit; returns a warning line
     * for a smaller share, or null.
     */
    public String checkAnswersFit() {
        if (dropped == 0) return null;
        double share = (double) dropped / size();
        int[] sorted = fullLength.clone();
        Arrays.sort(sorted);
        int fit99 = sorted[(int) Math.min(sorted.length - 1, Math.ceil(0.99 * sorted.length) - 1)] - 1;
        String what = String.format(Locale.ROOT, "%d of %d examples (%.1f%%) have no answer token within --max-len %d"
                + " (their prompts fill it); --max-len %d would fit 99%% of the examples whole", dropped, size(),
                100 * share, maxLen, Math.max(fit99, maxLen + 1));
        if (share > MAX_WITHOUT_ANSWER) throw new IllegalArgumentException(what);
        return what;
    }

    /** The prompt tokens of example i (with BOS), for generation. */
    public int[] promptTokens(int i) {
        return Arrays.copyOf(tokens.get(i), responseStart[i]);
    }

    /** The batch of the given example indices, padded to the longest, with completion-only labels. */
    public Batch collate(int[] which) {
        return collate(which, false);
    }

    /**
     * The batch of the given example indices, padded to the longest; allTokens: every next token is a target (the
     * prompt's too, as when training on the whole text), else only the response's (and EOS).
     */
    public Batch collate(int[] which, boolean allTokens) {
        int seq = 1;
        for (int i : which) seq = Math.max(seq, tokens.get(i).length - 1);
        int b = which.length;
        long[] ids = new long[b * seq], mask = new long[b * seq], labels = new long[b * seq];
        Arrays.fill(ids, tok.pad());
        Arrays.fill(labels, Batch.IGNORE_INDEX);
        for (int r = 0; r < b; r++) {
            int[] t = tokens.get(which[r]);
            for (int k = 0; k + 1 < t.length; k++) {
                ids[r * seq + k] = t[k];
                mask[r * seq + k] = 1;
                if (allTokens || k + 1 >= responseStart[which[r]]) labels[r * seq + k] = t[k + 1];
            }
        }
        return new Batch(ids, mask, labels, which.clone(), b, seq);
    }

    /**
     * SHA-256 over what training sees (every example's tokens and where its response starts), so a resumed run can
     * tell that its data, tokenizer and max-len are those of the checkpoint.
     */
    public String fingerprint() {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            ByteBuffer buf = ByteBuffer.allocate(8);
            for (int i = 0; i < tokens.size(); i++) {
                md.update(buf.clear().putInt(tokens.get(i).length).putInt(responseStart[i]).array());
                ByteBuffer row = ByteBuffer.allocate(4 * tokens.get(i).length);
                for (int t : tokens.get(i)) row.putInt(t);
                md.update(row.array());
            }
            return HexFormat.of().formatHex(md.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
