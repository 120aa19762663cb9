package dev.wmss.train.eval;

import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Collator;
import dev.wmss.train.data.Example;
import dev.wmss.train.data.Tokenizer;
import dev.wmss.train.loop.Progress;

import java.util.ArrayList;
import java.util.List;

/**
 * Held-out evaluation: exact-match accuracy of greedy answers ({@link Generator}, {@link Answers}) and the
 * token-level loss on the references ({@link TokenStats}).
 */
public final class Evaluator {
    /** New tokens per answer unless told otherwise (eval and run alike; GSM8K's reasoning needs about 200). */
    public static final int DEFAULT_MAX_NEW = 256;

    public record Result(double accuracy, double tokenLoss, int examples, List<String> samples) {}

    private Evaluator() {}

    /**
     * Greedy exact match and teacher-forced token loss of m on test. maxLen: the --max-len the model was trained at,
     * which bounds the token loss's sequences (as in training, whatever --max-new is); a prompt and its answer may
     * take maxLen + maxNew tokens in generation.
     */
    public static Result evaluate(TorchModel m, List<Example> test, Tokenizer tok, int maxLen, int maxNew, int batch) {
        return evaluate(m, test, tok, maxLen, maxNew, batch, null);
    }

    /** The same, with progress named task (null: none): a bar on a terminal, else a log line now and then. */
    public static Result evaluate(TorchModel m, List<Example> test, Tokenizer tok, int maxLen, int maxNew, int batch,
                                  String task) {
        Collator scored = new Collator(test, tok, maxLen);
        Collator data = new Collator(test, tok, maxLen + maxNew); // the prompts, for generation
        maxLen += maxNew;
        int correct = 0;
        List<String> samples = new ArrayList<>();
        try (Progress progress = task == null ? Progress.NONE : Progress.start(task, test.size())) {
            for (int b0 = 0; b0 < test.size(); b0 += batch) {
                int n = Math.min(batch, test.size() - b0);
                int[][] prompts = new int[n][];
                for (int i = 0; i < n; i++) prompts[i] = data.promptTokens(b0 + i);
                String[] out = Generator.greedy(m, tok, prompts, maxNew, maxLen);
                for (int i = 0; i < n; i++) {
                    Example e = test.get(b0 + i);
                    boolean right = Answers.matches(e.response(), out[i]);
                    if (right) correct++;
                    if (samples.size() < 3) samples.add(sample(e, out[i], right));
                }
                progress.advance(n);
            }
        }
        return new Result((double) correct / test.size(), TokenStats.tokenLoss(m, scored, batch), test.size(), samples);
    }

    /**
     * One evaluated example as text in which the prompt, the model's output and the reference are apart: each part on
     * lines of its own, each line led by the part's name.
     */
    /** Characters of a prompt shown in the log at most: its first and last half of them, the length said. */
    static final int SHOWN_PROMPT = 600;

    static String sample(Example e, String generated, boolean right) {
        String want = Answers.extract(e.response()), got = Answers.extract(generated);
        return block("prompt   ", shortened(e.prompt(), SHOWN_PROMPT)) + block("generated", generated)
                + "answer    | " + (got == null ? "(none)" : got) + (right ? " = " : " vs ") + "reference "
                + (want == null ? "(none: no \"####\" in it)" : want) + (right ? " (right)" : " (wrong)");
    }

    /** text as it is when it has at most max characters, else its first and last max/2 with what was left out said. */
    static String shortened(String text, int max) {
        if (text.length() <= max) return text;
        int half = max / 2;
        return text.substring(0, half) + "\n[... " + (text.length() - 2 * half) + " of " + text.length()
                + " characters not shown ...]\n" + text.substring(text.length() - half);
    }

    private static String block(String name, String text) {
        StringBuilder b = new StringBuilder();
        String[] lines = text.stripTrailing().split("\n", -1);
        for (int i = 0; i < lines.length; i++) {
            b.append(i == 0 ? name : " ".repeat(name.length())).append(" | ").append(lines[i]).append('\n');
        }
        return b.toString();
    }
}
