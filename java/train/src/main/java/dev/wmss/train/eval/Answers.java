package dev.wmss.train.eval;

import dev.wmss.train.data.Example;
import org.slf4j.LoggerFactory;

import java.util.List;
import java.util.Locale;

/**
 * Answer parsing for exact match, GSM8K-style: the answer is the line after the last "####", its dashes and minus
 * signs read as "-" and its full-width characters as ASCII ({@link NumberAnswer#normalise}). When that whole line is
 * one number ({@link NumberAnswer}: thousands separators, a "$", a sign, decimals, a final period, a scale word that
 * multiplies it, a trailing "%" or a short unit phrase: "#### $1,080." and "#### 1080 dollars" are 1080, "#### 5
 * thousand" is 5000) it is compared as a number ("18.00" equals "18"); anything else ("1/3", "12:45", "1e3", "7 or 8",
 * "7 minus", "5 k") is compared as text, lower-cased with its spaces collapsed, so that an answer is never matched by
 * its leading digits.
 */
public final class Answers {
    private Answers() {}

    /**
     * The answer after the last "####" (to the end of its line): a number in plain decimal without trailing zeros when
     * the whole answer is one, else the normalised text; null without a marker or with nothing after it.
     */
    public static String extract(String text) {
        int i = text.lastIndexOf("####");
        if (i < 0) return null;
        String rest = text.substring(i + 4);
        int eol = rest.indexOf('\n');
        rest = NumberAnswer.normalise(eol >= 0 ? rest.substring(0, eol) : rest).strip();
        String number = NumberAnswer.parse(rest);
        if (number != null) return number;
        String t = rest.toLowerCase(Locale.ROOT).replaceAll("\\s+", " ");
        while (t.endsWith(".")) t = t.substring(0, t.length() - 1).strip();
        return t.chars().anyMatch(Character::isLetterOrDigit) ? t : null;
    }

    /** Whether a generated text states the reference's answer (false when the reference has none). */
    public static boolean matches(String reference, String generated) {
        String want = extract(reference);
        return want != null && want.equals(extract(generated));
    }

    /** How many references have no answer to compare (nothing after a "####"); warns once when any lacks one. */
    public static int warnIfMissing(List<Example> references, String what) {
        int missing = 0;
        String first = null;
        for (Example e : references) {
            if (extract(e.response()) == null) {
                if (missing++ == 0) first = e.response();
            }
        }
        if (missing > 0) {
            String shown = first.length() > 80 ? first.substring(0, 80) + "..." : first;
            LoggerFactory.getLogger("dev.wmss.train").warn("{}: {} of {} references have no answer marker (\"#### "
                    + "ANSWER\", as GSM8K writes it) and count as wrong in exact match; the first: \"{}\"", what, missing,
                    references.size(), shown.replace("\n", "\\n"));
        }
        return missing;
    }
}
