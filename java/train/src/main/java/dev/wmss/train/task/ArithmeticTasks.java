package dev.wmss.train.task;

import dev.wmss.train.data.Example;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The built-in task: arithmetic word problems with worked solutions, so the project has real work without a
 * download. Level 1 is one step (+ or -), level 2 two steps, level 3 three steps with a product. A solution shows
 * one equation per line and ends with "#### answer" (GSM8K style); {@code eval.Answers} extracts it for exact match.
 * Generation is deterministic in the seed; {@link #splits} keeps test prompts out of the training set.
 */
public final class ArithmeticTasks {
    private static final String[] NAMES = {"Ana", "Ben", "Chen", "Dara", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo"};
    private static final String[] ITEMS = {"apples", "books", "coins", "pens", "shells", "stamps", "cards", "eggs"};

    private ArithmeticTasks() {}

    public record Split(List<Example> train, List<Example> test) {}

    /** n examples of the given level (1..3). */
    public static List<Example> generate(int n, int level, long seed) {
        if (level < 1 || level > 3) throw new IllegalArgumentException("level must be 1, 2 or 3");
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Example> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(one(rnd, level));
        return out;
    }

    /** Train and test sets over levels 1..maxLevel (mixed evenly); no test prompt occurs in train. */
    public static Split splits(int train, int test, int maxLevel, long seed) {
        List<Example> tr = new ArrayList<>(), te = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        SplittableRandom rnd = new SplittableRandom(seed);
        while (tr.size() < train) {
            Example e = one(rnd, 1 + tr.size() % maxLevel);
            tr.add(e);
            seen.add(e.prompt());
        }
        SplittableRandom trnd = new SplittableRandom(seed ^ 0x5DEECE66DL);
        while (te.size() < test) {
            Example e = one(trnd, 1 + te.size() % maxLevel);
            if (seen.add(e.prompt())) te.add(e);
        }
        return new Split(tr, te);
    }

    private static Example one(SplittableRandom rnd, int level) {
        String who = NAMES[rnd.nextInt(NAMES.length)], what = ITEMS[rnd.nextInt(ITEMS.length)];
        int a = 2 + rnd.nextInt(30), b = 1 + rnd.nextInt(20), c = 1 + rnd.nextInt(10);
        return switch (level) {
            case 1 -> rnd.nextBoolean()
                    ? ex(who + " has " + a + " " + what + " and gets " + b + " more. How many " + what + " does " + who + " have?",
                         a + " + " + b + " = " + (a + b), a + b)
                    : ex(who + " has " + (a + b) + " " + what + " and gives away " + b + ". How many " + what + " are left?",
                         (a + b) + " - " + b + " = " + a, a);
            case 2 -> ex(who + " has " + a + " " + what + ", gets " + b + " more, then gives away " + c + ". How many "
                            + what + " does " + who + " have now?",
                    a + " + " + b + " = " + (a + b) + "\n" + (a + b) + " - " + c + " = " + (a + b - c), a + b - c);
            default -> {
                int boxes = 2 + rnd.nextInt(5), per = 2 + rnd.nextInt(9);
                int p = boxes * per;
                yield ex(who + " buys " + boxes + " boxes of " + per + " " + what + ", finds " + b + " more and loses "
                                + c + ". How many " + what + " does " + who + " have?",
                        boxes + " * " + per + " = " + p + "\n" + p + " + " + b + " = " + (p + b) + "\n" + (p + b) + " - " + c
                                + " = " + (p + b - c), p + b - c);
            }
        };
    }

    /**
     * The problem as plain text of the task family without the answer format, for a base model trained as a plain
     * language model: the story without its question, the equations in a sentence, "That makes N." (no "Q:"/"A:", no
     * line per step, no "####"). The whole text is the response of an example with an empty prompt.
     */
    public static Example plainText(Example problem) {
        String q = problem.prompt();
        if (!q.startsWith("Q: ") || !q.endsWith("\nA: ")) throw new IllegalArgumentException("not a built-in problem: " + q);
        q = q.substring(3, q.length() - 4);
        int ask = q.lastIndexOf(" How many");
        String story = ask > 0 ? q.substring(0, ask) : q;
        String r = problem.response();
        int mark = r.lastIndexOf("\n#### ");
        if (mark < 0) throw new IllegalArgumentException("not a built-in solution: " + r);
        String steps = String.join(", ", r.substring(0, mark).split("\n"));
        return new Example("", story + " " + steps + ". That makes " + r.substring(mark + 6) + ".");
    }

    private static Example ex(String question, String steps, int answer) {
        return new Example("Q: " + question + "\nA: ", steps + "\n#### " + answer);
    }
}
