package dev.wmss.train.eval;

import dev.wmss.kernels.torch.TorchModel;
import dev.wmss.train.data.Collator;
import dev.wmss.train.data.Example;
import dev.wmss.train.data.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * Held-out evaluation: exact-match accuracy of greedy answers ({@link Generator}, {@link Answers}) and the
 * token-level loss on the references ({@link TokenStats}).
 */
public final class Evaluator {
    public record Result(double accuracy, double tokenLoss, int examples, List<String> samples) {}

    private Evaluator() {}

    public static Result evaluate(TorchModel m, List<Example> test, Tokenizer tok, int maxLen, int maxNew, int batch) {
        Collator data = new Collator(test, tok, maxLen);
        int correct = 0;
        List<String> samples = new ArrayList<>();
        for (int b0 = 0; b0 < test.size(); b0 += batch) {
            int n = Math.min(batch, test.size() - b0);
            int[][] prompts = new int[n][];
            for (int i = 0; i < n; i++) prompts[i] = data.promptTokens(b0 + i);
            String[] out = Generator.greedy(m, tok, prompts, maxNew, maxLen);
            for (int i = 0; i < n; i++) {
                if (Answers.matches(test.get(b0 + i).response(), out[i])) correct++;
                if (samples.size() < 3) samples.add(test.get(b0 + i).prompt() + out[i]);
            }
        }
        return new Result((double) correct / test.size(), TokenStats.tokenLoss(m, data, batch), test.size(), samples);
    }
}
