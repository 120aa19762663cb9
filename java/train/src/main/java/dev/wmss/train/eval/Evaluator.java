package dev.wmss.train.eval;

import dev.wmss.kernels.Entropy;
import dev.wmss.kernels.Logits;
import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.torch.TorchModel;
import dev.wmss.train.data.Batch;
import dev.wmss.train.data.Batcher;
import dev.wmss.train.data.Example;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.train.task.ArithmeticTasks;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Greedy decoding with exact-match accuracy (answers after "####"), token-level loss on the responses, and the
 * per-example mean answer entropy WD-DS needs. Inference runs without gradients, batched.
 */
public final class Evaluator {
    public record Result(double accuracy, double tokenLoss, int examples, List<String> samples) {}

    private Evaluator() {}

    public static Result evaluate(TorchModel m, List<Example> test, Tokenizer tok, int maxLen, int maxNew, int batch) {
        Batcher data = new Batcher(test, tok, maxLen);
        int correct = 0;
        List<String> samples = new ArrayList<>();
        for (int b0 = 0; b0 < test.size(); b0 += batch) {
            int n = Math.min(batch, test.size() - b0);
            int[][] seqs = new int[n][];
            for (int i = 0; i < n; i++) seqs[i] = data.promptTokens(b0 + i);
            String[] out = generate(m, tok, seqs, maxNew, maxLen);
            for (int i = 0; i < n; i++) {
                String want = ArithmeticTasks.answer(test.get(b0 + i).response());
                String got = ArithmeticTasks.answer(out[i]);
                if (want != null && want.equals(got)) correct++;
                if (samples.size() < 3) samples.add(test.get(b0 + i).prompt() + out[i]);
            }
        }
        return new Result((double) correct / test.size(), tokenLoss(m, data, batch), test.size(), samples);
    }

    /** Greedy continuation of each prompt until EOS, maxNew tokens or maxLen; returns the decoded continuations. */
    static String[] generate(TorchModel m, Tokenizer tok, int[][] prompts, int maxNew, int maxLen) {
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
                for (int i = 0; i < n; i++)
                    for (int k = 0; k < len[i]; k++) {
                        ids[i * width + k] = seq[i][k];
                        mask[i * width + k] = 1;
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

    /** One batch run forward without gradients; its native buffers live in the caller's (per-batch) arena. */
    private record Forward(Batch batch, MemorySegment labels, Logits logits) {
        static Forward of(TorchModel m, Batcher data, int b0, int size, Arena arena) {
            Batch b = data.batch(range(b0, Math.min(data.size(), b0 + size)));
            MemorySegment labels = arena.allocateFrom(ValueLayout.JAVA_LONG, b.labels());
            Logits z = m.forward(arena.allocateFrom(ValueLayout.JAVA_LONG, b.ids()),
                    arena.allocateFrom(ValueLayout.JAVA_LONG, b.mask()), b.batch(), b.seq(), false);
            return new Forward(b, labels, z);
        }
    }

    /** Mean NLL per response token. */
    static double tokenLoss(TorchModel m, Batcher data, int batch) {
        double sum = 0;
        long tokens = 0;
        for (int b0 = 0; b0 < data.size(); b0 += batch) {
            try (Arena arena = Arena.ofConfined()) {
                Forward f = Forward.of(m, data, b0, batch, arena);
                sum += CeMix.of(f.logits(), f.logits(), f.labels()).lambda(1f).invNorm(1f).run();
                tokens += f.batch().supervised();
            }
        }
        return tokens == 0 ? 0 : sum / tokens;
    }

    /** WD-DS's H: for every example, the mean entropy (nats) of the model's next-token distribution over its answer positions. */
    public static double[] answerEntropy(TorchModel m, Batcher data, int batch) {
        double[] h = new double[data.size()];
        for (int b0 = 0; b0 < data.size(); b0 += batch) {
            try (Arena arena = Arena.ofConfined()) {
                Forward f = Forward.of(m, data, b0, batch, arena);
                Batch b = f.batch();
                Logits z = f.logits();
                MemorySegment ent = arena.allocate(4 * z.rows(), 8), nll = arena.allocate(4 * z.rows(), 8);
                Entropy.compute(z, f.labels(), ent, nll, null, false);
                for (int r = 0; r < b.batch(); r++) {
                    double s = 0;
                    int n = 0;
                    for (int t = 0; t < b.seq(); t++) {
                        long row = (long) r * b.seq() + t;
                        if (b.labels()[(int) row] == -100) continue;
                        s += ent.getAtIndex(ValueLayout.JAVA_FLOAT, row);
                        n++;
                    }
                    h[b.examples()[r]] = n == 0 ? 0 : s / n;
                }
            }
        }
        return h;
    }

    static int[] range(int from, int to) {
        int[] a = new int[to - from];
        for (int i = 0; i < a.length; i++) a[i] = from + i;
        return a;
    }
}
