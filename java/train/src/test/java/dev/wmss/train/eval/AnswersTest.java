package dev.wmss.train.eval;

import dev.wmss.train.data.Example;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * GSM8K-style answers: the line after the last "####"; a whole number compared as a number (normalised as GSM8K's
 * scoring does), anything else as text (never by its leading digits).
 */
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
        assertEquals("25", Answers.extract("#### 25%"));
        assertEquals("18", Answers.extract("#### 18\n\nQuestion: 4 + 4?"), "the answer's line only");
        assertNull(Answers.extract("the answer is 7"));
        assertNull(Answers.extract("#### -"));
        assertNull(Answers.extract("####   \n"));
        assertEquals("seven", Answers.extract("#### Seven."), "a text answer, normalised");
        assertEquals("1.2.3", Answers.extract("#### 1.2.3"));
        assertEquals("1/3", Answers.extract("#### 1/3"));
    }

    /** An audit's cases: answers that only begin with a number compare as text, not by their leading digits. */
    @Test
    void answersThatAreNotOneNumberAreNotComparedByTheirLeadingDigits() {
        assertFalse(Answers.matches("#### 1/2", "#### 1/3"));
        assertTrue(Answers.matches("#### 1/2", "#### 1/2"));
        assertFalse(Answers.matches("#### 12:00", "#### 12:45"));
        assertTrue(Answers.matches("#### 12:45", "#### 12:45."));
        assertFalse(Answers.matches("#### 1", "#### 1e3"));
        assertFalse(Answers.matches("#### 7", "#### 7 or 8"));
        assertFalse(Answers.matches("#### 1,08", "#### 108"), "1,08 is not a grouped number");
        assertFalse(Answers.matches("#### 3", "#### 3 4"));
        assertTrue(Answers.matches("#### 18", "#### 18 dollars"), "a unit word after the number");
        assertTrue(Answers.matches("#### Paris", "#### paris"));
        assertFalse(Answers.matches("#### 18", "#### eighteen"));
    }

    /** An audit's cases: a scale word multiplies (5 thousand is 5000, never 5); an abbreviation of one is not a number. */
    @Test
    void scaleWordsMultiplyTheNumberAndAreNeverDropped() {
        assertFalse(Answers.matches("#### 5", "#### 5 thousand"));
        assertTrue(Answers.matches("#### 5000", "#### 5 thousand"));
        assertTrue(Answers.matches("#### 5,000", "#### 5 Thousand."), "any case, a final period");
        assertFalse(Answers.matches("#### 2", "#### 2 million"));
        assertTrue(Answers.matches("#### 2000000", "#### 2 MILLION"));
        assertFalse(Answers.matches("#### 1.5", "#### 1.5 million"));
        assertEquals("1500000", Answers.extract("#### $1.5 million dollars"));
        assertEquals("-3000000000", Answers.extract("#### -3 billion"));
        assertEquals("7000000000000", Answers.extract("#### 7 trillion"));
        assertEquals("500000", Answers.extract("#### 5 hundred thousand"), "scale words in a row multiply");
        assertEquals("24", Answers.extract("#### 2 dozen eggs"));
        assertEquals("5000", Answers.extract("#### 5 thousands"));
        assertEquals("200000", Answers.extract("#### 2 lakh"));
        for (String abbreviated : List.of("#### 5 k", "#### 5k", "#### 5 K", "#### $5 M", "#### 2 bn", "#### 2 mln", "#### 2 B")) {
            assertFalse(Answers.matches("#### 5", abbreviated) || Answers.matches("#### 2", abbreviated), abbreviated);
        }
        assertFalse(Answers.matches("#### 5", "#### 5 dollars thousand"), "a scale word after the unit");
    }

    /** An audit's cases: after the number only a short unit phrase may follow, not a connective, an operator or a cut. */
    @Test
    void trailingWordsThatMakeItNotOneNumberRefuseTheMatch() {
        for (String g : List.of("#### 7 or", "#### 7 or 8", "#### 7 and", "#### 7 minus", "#### 7 plus 1", "#### 7 times",
                "#### 7 divided", "#### 7 over", "#### 7 to", "#### 7 more than", "#### 7 less", "#### 7 is",
                "#### 7 apples and", "#### 7 cups of", "#### 7 miles per", "#### 7 squared", "#### 7 tenths",
                "#### 7 halves", "#### 7 point", "#### 7 apples 8", "#### 7 big red shiny apples", "#### 7 x")) {
            assertFalse(Answers.matches("#### 7", g), g);
        }
        assertFalse(Answers.matches("#### 5", "5 minus\n#### 5 minus"));
        for (String g : List.of("#### 7", "#### 7.", "#### $7", "#### $7.00", "#### 7 dollars", "#### 7 eggs.", "#### 7%",
                "#### 7 %", "#### 7 percent", "#### 7 square feet", "#### 7 miles per hour", "#### 7 cups of flour",
                "#### 7 year-olds", "#### 7 km/h", "#### +7", "The answer is 7.\n#### 7", "so 3 + 4 = 7\n#### 7 apples")) {
            assertTrue(Answers.matches("#### 7", g), g);
        }
        assertTrue(Answers.matches("#### 1,000", "#### 1000 people"));
        assertTrue(Answers.matches("#### -3", "#### -3"));
        assertTrue(Answers.matches("#### -3", "#### -$3."));
    }

    /** An audit's cases: a Unicode minus or dash before the number is a minus sign; full-width digits are digits. */
    @Test
    void unicodeMinusSignsAndFullWidthDigitsAreNormalised() {
        for (String minus : List.of("\u2212", "\u2013", "\u2012", "\u2010", "\uFE63", "\uFF0D")) {
            assertTrue(Answers.matches("#### -5", "#### " + minus + "5"), "U+" + Integer.toHexString(minus.charAt(0)));
            assertFalse(Answers.matches("#### 5", "#### " + minus + "5"), "U+" + Integer.toHexString(minus.charAt(0)));
        }
        assertTrue(Answers.matches("#### 1080", "#### \uFF11\uFF0C\uFF10\uFF18\uFF10"), "full-width 1,080");
        assertTrue(Answers.matches("#### 18", "#### 18\u00A0dollars"), "a no-break space");
        assertFalse(Answers.matches("#### 52", "#### 5\u00B2"), "a superscript is not a digit");
        assertTrue(Answers.matches("#### 12\u221245", "#### 12-45"), "dashes within a text answer too");
    }

    /** What already held and must keep holding: fractions and exponents as text, -0 is 0, decimals with groups, times. */
    @Test
    void textLikeNumbersStayText() {
        assertFalse(Answers.matches("#### 0.5", "#### 1/2"));
        assertFalse(Answers.matches("#### 1000", "#### 1e3"));
        assertTrue(Answers.matches("#### 1e3", "#### 1E3"));
        assertTrue(Answers.matches("#### 0", "#### -0"));
        assertTrue(Answers.matches("#### 1000", "#### 1,000.00"));
        assertTrue(Answers.matches("#### 12:45", "#### 12:45"));
        assertFalse(Answers.matches("#### 12", "#### 12:45"));
    }

    /** Every answer of GSM8K's test set is one number, and each matches itself written as a model might. */
    @Test
    void gsm8kTestAnswersAreNumbers() throws java.io.IOException {
        java.nio.file.Path test = java.nio.file.Path.of(System.getProperty("user.dir")).toAbsolutePath();
        while (test != null && !java.nio.file.Files.isDirectory(test.resolve(".git")) && !java.nio.file.Files.isRegularFile(test.resolve("wmss.sh"))) {
            test = test.getParent();
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(test != null, "no repository root");
        java.nio.file.Path file = test.resolveSibling("shared").resolve("data/gsm8k/test.jsonl");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isRegularFile(file), "no GSM8K at " + file);
        int n = 0;
        for (String line : java.nio.file.Files.readAllLines(file)) {
            String answer = com.google.gson.JsonParser.parseString(line).getAsJsonObject().get("answer").getAsString();
            String a = Answers.extract(answer);
            assertNotNull(a, answer);
            assertTrue(a.matches("-?\\d+(\\.\\d+)?"), "a number: " + a + " from " + answer);
            assertTrue(Answers.matches(answer, "so\n#### " + a + "\n"), a);
            assertFalse(Answers.matches(answer, "#### " + a + "/2"), a);
            n++;
        }
        assertEquals(1319, n, "GSM8K's test set");
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
        List<Example> refs = List.of(new Example("q", "#### 4"), new Example("q", "four"), new Example("q", "#### x"),
                new Example("q", "#### ."));
        assertEquals(2, Answers.warnIfMissing(refs, "test data"), "no marker, and nothing after it; \"x\" is a text answer");
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
        // a long prompt is shortened in the log: its first and last characters, with its length
        String longPrompt = "A".repeat(5000) + "Z";
        String shown = Evaluator.sample(new Example(longPrompt, "#### 4"), "#### 4", true);
        assertTrue(shown.contains("[... " + (5001 - Evaluator.SHOWN_PROMPT) + " of 5001 characters not shown ...]")
                && shown.contains("AZ") && shown.length() < 1000, shown);
        String wrong = Evaluator.sample(new Example("Q", "#### 4"), "5", false);
        assertTrue(wrong.endsWith("answer    | (none) vs reference 4 (wrong)"), wrong);
    }
}
