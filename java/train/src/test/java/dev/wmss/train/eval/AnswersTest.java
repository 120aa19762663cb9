package dev.wmss.train.eval;

import dev.wmss.train.data.Example;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** GSM8K-style answers: the number after the last "####", normalised as GSM8K's scoring does, compared as numbers. */
class AnswersTest {
    @Test
    void numbersAreNormalisedAsGsm8kScoresThem() {
        assertEquals("1080", Answers.extract("so 1,080 in all\n#### 1,080"), "thousands separators");
        assertEquals("1080", Answers.extract("#### $1,080."), "a dollar sign and a final period");
        assertEquals("5", Answers.extract("#### +5"));
        assertEquals("-12", Answers.extract("#### -12 apples"));
        assertEquals("-3", Answers.extract("#### -$3"));
        assertEquals("18", Answers.extract("#### 18.00"));
        assertEquals("0.5", Answers.extract("#### 0.50"));
        assertEquals("1234567", Answers.extract("#### 1,234,567"));
        assertEquals("7", Answers.extract("#### 3 #### 7"), "the last marker");
        assertNull(Answers.extract("the answer is 7"));
        assertNull(Answers.extract("#### seven"));
        assertNull(Answers.extract("#### -"));
        assertNull(Answers.extract("#### 1.2.3"));
    }

    @Test
    void answersMatchAsNumbers() {
        assertTrue(Answers.matches("#### 1,080", "She has 1080 left.\n#### 1080"), "14 of GSM8K's test answers look so");
        assertTrue(Answers.matches("#### 1080", "#### 1,080"));
        assertTrue(Answers.matches("#### 18", "#### 18.0"));
        assertTrue(Answers.matches("#### 5", "#### $5."));
        assertFalse(Answers.matches("#### 1,080", "#### 1"));
        assertFalse(Answers.matches("#### 108", "#### 1080"));
        assertFalse(Answers.matches("no marker", "#### 3"), "a reference without an answer matches nothing");
    }

    @Test
    void referencesWithoutAnAnswerMarkerAreCounted() {
        List<Example> refs = List.of(new Example("q", "#### 4"), new Example("q", "four"), new Example("q", "#### x"));
        assertEquals(2, Answers.warnIfMissing(refs, "test data"));
        assertEquals(0, Answers.warnIfMissing(List.of(new Example("q", "#### 1,000")), "test data"));
    }

    @Test
    void samplesShowWherePromptOutputAndReferenceAre() {
        String s = Evaluator.sample(new Example("Q: 2 + 2?\nA:", "4\n#### 4"), " 2 + 2 = 4\n#### 4", true);
        assertEquals("""
                prompt    | Q: 2 + 2?
                          | A:
                generated |  2 + 2 = 4
                          | #### 4
                answer    | 4 = reference 4 (right)""", s);
        String wrong = Evaluator.sample(new Example("Q", "#### 4"), "5", false);
        assertTrue(wrong.endsWith("answer    | (none) vs reference 4 (wrong)"), wrong);
    }
}
