package dev.wmss.train.eval;

import dev.wmss.train.data.Example;
import org.slf4j.LoggerFactory;

import java.math.BigDecimal;
import java.util.List;

/**
 * Answer parsing for exact match as GSM8K's own scoring does it: the number after the last "####", with thousands
 * separators, a "$", a leading "+" and a trailing period removed ("#### $1,080." is 1080), compared as numbers
 * ("18.00" equals "18").
 */
public final class Answers {
    private Answers() {}

    /** The number after the last "####", normalised (plain decimal, no trailing zeros), or null. */
    public static String extract(String text) {
        int i = text.lastIndexOf("####");
        if (i < 0) return null;
        String rest = text.substring(i + 4).strip();
        int at = 0;
        StringBuilder n = new StringBuilder();
        if (at < rest.length() && rest.charAt(at) == '$') at++;
        if (at < rest.length() && (rest.charAt(at) == '-' || rest.charAt(at) == '+')) {
            if (rest.charAt(at) == '-') n.append('-');
            at++;
        }
        if (at < rest.length() && rest.charAt(at) == '$') at++;
        int digits = 0;
        for (; at < rest.length(); at++) {
            char c = rest.charAt(at);
            if (c >= '0' && c <= '9') {
                n.append(c);
                digits++;
            } else if (c == '.') {
                n.append(c);
            } else if (c != ',') {
                break;
            }
        }
        while (n.length() > 0 && n.charAt(n.length() - 1) == '.') n.setLength(n.length() - 1); // "5." ends a sentence
        if (digits == 0) return null;
        try {
            BigDecimal v = new BigDecimal(n.toString());
            return v.signum() == 0 ? "0" : v.stripTrailingZeros().toPlainString();
        } catch (NumberFormatException e) {
            return null; // "1.2.3": not a number
        }
    }

    /** Whether a generated text states the reference's answer (false when the reference has none). */
    public static boolean matches(String reference, String generated) {
        String want = extract(reference);
        return want != null && want.equals(extract(generated));
    }

    /** How many references have no answer to compare ("####" and a number); warns once when any lacks one. */
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
                    + "NUMBER\", as GSM8K writes it) and count as wrong in exact match; the first: \"{}\"", what, missing,
                    references.size(), shown.replace("\n", "\\n"));
        }
        return missing;
    }
}
