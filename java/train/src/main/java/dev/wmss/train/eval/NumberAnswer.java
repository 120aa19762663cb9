package dev.wmss.train.eval;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * When a whole answer is one number, and which. The grammar, on the answer after {@link #normalise}:
 * <pre>
 *   [$] [+|-] [$] NUMBER [SCALE...] ( [%] | UNIT-PHRASE ) [.]
 * </pre>
 * NUMBER is digits, grouped by commas in threes or not, with decimals or not. A SCALE word right after it multiplies it
 * (hundred, thousand, million, billion, trillion, quadrillion, quintillion, lakh, crore, dozen, grand; any case,
 * plurals too): "5 thousand" is 5000, never 5. A scale's abbreviation ("5 k", "2 bn", "$5 M") is ambiguous (k, M and B
 * are also units), so such an answer is not read as a number at all. The UNIT-PHRASE is at most {@value #MAX_UNIT_WORDS}
 * words of letters ("dollars", "square feet", "miles per hour", "year-olds", "km/h") in which no word makes the answer
 * something other than one quantity: a connective or operator ("or", "and", "minus", "times", "to", "than", ...), a
 * comparative ("more", "less"), a verb ("is", "equals"), a fraction word ("tenths", "halves"), a scale word or its
 * abbreviation; and which does not end on a word that needs one after it ("of", "per", "the", ...: a cut answer). A
 * digit anywhere after the number ("7 or 8", "7 apples 8", "12:45", "1/2", "1e3") also makes it not one number.
 */
final class NumberAnswer {
    private NumberAnswer() {}

    static final int MAX_UNIT_WORDS = 3;

    private static final Pattern HEAD = Pattern.compile(
            "\\$?([+-])?\\$?\\s*((?:\\d{1,3}(?:,\\d{3})+|\\d+)(?:\\.\\d+)?|\\.\\d+)(.*)", Pattern.DOTALL);
    private static final Pattern WORD = Pattern.compile("\\p{L}+(?:['’/-]\\p{L}+)*");

    private static final Map<String, BigDecimal> SCALES = Map.ofEntries(Map.entry("hundred", new BigDecimal("1e2")),
            Map.entry("thousand", new BigDecimal("1e3")), Map.entry("million", new BigDecimal("1e6")),
            Map.entry("billion", new BigDecimal("1e9")), Map.entry("trillion", new BigDecimal("1e12")),
            Map.entry("quadrillion", new BigDecimal("1e15")), Map.entry("quintillion", new BigDecimal("1e18")),
            Map.entry("lakh", new BigDecimal("1e5")), Map.entry("crore", new BigDecimal("1e7")),
            Map.entry("dozen", BigDecimal.valueOf(12)), Map.entry("grand", new BigDecimal("1e3")));
    /** Abbreviations of scales, any case; and upper-case letters that stand for one (a lower-case m is a metre). */
    private static final Set<String> ABBREVIATIONS = Set.of("k", "bn", "mn", "mln", "mil", "thou", "tn");
    private static final Set<String> ABBREVIATIONS_UPPER = Set.of("M", "B");
    /** Words that make "N word" something other than one quantity. */
    private static final Set<String> REFUSED = Set.of(
            "or", "and", "nor", "but", "plus", "minus", "times", "multiplied", "divided", "over", "into", "to", "than",
            "by", "from", "through", "until", "till", "vs", "versus", "x", "mod", "modulo", "squared", "cubed", "power",
            "root", "factorial", "point", "out", "more", "less", "fewer", "greater", "smaller", "larger", "bigger",
            "higher", "lower", "is", "are", "was", "were", "be", "been", "equals", "equal", "equaled", "makes", "gives",
            "not", "if", "then", "so", "because", "half", "halves", "thirds", "fourths", "fifths", "sixths",
            "sevenths", "eighths", "ninths", "tenths", "hundredths", "thousandths", "millionths");
    /** Words a phrase cannot end on: each needs a word after it, so the answer was cut. */
    private static final Set<String> DANGLING = Set.of(
            "of", "per", "a", "an", "the", "for", "in", "at", "on", "with", "as", "that", "which", "who");

    /** Dashes and minus signs read as "-", full-width ASCII as ASCII, no-break spaces as spaces; nothing else. */
    static String normalise(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\u2212' || c == '\u2010' || c == '\u2011' || c == '\u2012' || c == '\u2013' || c == '\uFE63') c = '-';
            else if (c >= '\uFF01' && c <= '\uFF5E') c = (char) (c - 0xFEE0);
            else if (c == '\u00A0' || c == '\u2007' || c == '\u202F' || c == '\u3000') c = ' ';
            b.append(c);
        }
        return b.toString();
    }

    /** The number in plain decimal without trailing zeros ("-0" is "0"), or null when the answer is not one number. */
    static String parse(String answer) {
        Matcher m = HEAD.matcher(answer);
        if (!m.matches()) return null;
        BigDecimal v = new BigDecimal(m.group(2).replace(",", ""));
        if ("-".equals(m.group(1))) v = v.negate();
        String tail = m.group(3);
        if (tail.endsWith(".")) tail = tail.substring(0, tail.length() - 1);
        if (!tail.isEmpty() && !tail.strip().equals("%")) {
            if (!Character.isWhitespace(tail.charAt(0))) return null; // "5k", "1e3", "12:45", "1/2", "1.2.3"
            String[] words = tail.strip().split("\\s+");
            int i = 0;
            for (; i < words.length && SCALES.containsKey(singular(words[i])); i++) v = v.multiply(SCALES.get(singular(words[i])));
            if (words.length - i > MAX_UNIT_WORDS) return null;
            for (int j = i; j < words.length; j++) if (!unitWord(words[j])) return null;
            if (i < words.length && DANGLING.contains(lower(words[words.length - 1]))) return null;
        }
        return v.signum() == 0 ? "0" : v.stripTrailingZeros().toPlainString();
    }

    private static boolean unitWord(String w) {
        String l = lower(w);
        return WORD.matcher(w).matches() && !REFUSED.contains(l) && !SCALES.containsKey(singular(w))
                && !ABBREVIATIONS.contains(l) && !ABBREVIATIONS_UPPER.contains(w);
    }

    private static String lower(String w) {
        return w.toLowerCase(Locale.ROOT);
    }

    private static String singular(String w) {
        String l = lower(w);
        return l.endsWith("s") && SCALES.containsKey(l.substring(0, l.length() - 1)) ? l.substring(0, l.length() - 1) : l;
    }
}
