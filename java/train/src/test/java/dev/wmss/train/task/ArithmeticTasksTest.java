package dev.wmss.train.task;

import dev.wmss.train.data.Example;
import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.*;

class ArithmeticTasksTest {
    /** Evaluates every "x op y = z" line of a solution and checks the final answer. */
    static void assertCorrect(Example e) {
        String[] lines = e.response().split("\n");
        long last = Long.MIN_VALUE;
        for (String line : lines) {
            if (line.startsWith("####")) {
                assertEquals(Long.toString(last), dev.wmss.train.eval.Answers.extract(e.response()), e.toString());
                continue;
            }
            String[] t = line.split(" ");
            long x = Long.parseLong(t[0]), y = Long.parseLong(t[2]), z = Long.parseLong(t[4]);
            long want = switch (t[1]) { case "+" -> x + y; case "-" -> x - y; default -> x * y; };
            assertEquals(want, z, line);
            last = z;
        }
    }

    @Test
    void solutionsAreRightAtEveryLevel() {
        for (int level = 1; level <= 3; level++) {
            for (Example e : ArithmeticTasks.generate(300, level, level)) {
                assertTrue(e.prompt().startsWith("Q: ") && e.prompt().endsWith("\nA: "));
                assertCorrect(e);
                assertEquals(level + 1, e.response().split("\n").length, "steps of level " + level);
            }
        }
    }

    @Test
    void deterministicAndTestIsHeldOut() {
        assertEquals(ArithmeticTasks.generate(50, 2, 7), ArithmeticTasks.generate(50, 2, 7));
        ArithmeticTasks.Split s = ArithmeticTasks.splits(500, 100, 3, 1);
        assertEquals(500, s.train().size());
        assertEquals(100, s.test().size());
        Set<String> train = new HashSet<>();
        for (Example e : s.train()) train.add(e.prompt());
        for (Example e : s.test()) assertFalse(train.contains(e.prompt()), e.prompt());
    }

    @Test
    void answerExtraction() {
        assertEquals("42", dev.wmss.train.eval.Answers.extract("1 + 41 = 42\n#### 42"));
        assertEquals("-3", dev.wmss.train.eval.Answers.extract("#### -3 apples"));
        assertNull(dev.wmss.train.eval.Answers.extract("no marker"));
        assertEquals("x", dev.wmss.train.eval.Answers.extract("#### x"), "a text answer");
        List<Example> l = ArithmeticTasks.generate(1, 1, 3);
        assertNotNull(dev.wmss.train.eval.Answers.extract(l.get(0).response()));
    }

    @Test
    void plainTextIsTheProblemWithoutTheAnswerFormat() {
        for (int level = 1; level <= 3; level++) {
            for (Example e : ArithmeticTasks.generate(50, level, 11)) {
                Example t = ArithmeticTasks.plainText(e);
                assertEquals("", t.prompt());
                String text = t.response();
                assertFalse(text.contains("Q:") || text.contains("A:") || text.contains("####") || text.contains("\n")
                        || text.contains("How many"), text);
                assertTrue(text.endsWith("That makes " + e.response().substring(e.response().lastIndexOf("#### ") + 5) + "."), text);
                for (String step : e.response().split("\n")) if (!step.startsWith("####")) assertTrue(text.contains(step), text);
            }
        }
        assertEquals("Ana has 3 pens and gets 2 more. 3 + 2 = 5. That makes 5.", ArithmeticTasks.plainText(new Example(
                "Q: Ana has 3 pens and gets 2 more. How many pens does Ana have?\nA: ", "3 + 2 = 5\n#### 5")).response());
        assertThrows(IllegalArgumentException.class, () -> ArithmeticTasks.plainText(new Example("hi", "there")));
    }
}
