package dev.wmss.train.eval;

/** Answer parsing for exact match: GSM8K style, the number after the last "####". */
public final class Answers {
    private Answers() {}

    /** The number after the last "####" (an optional minus, then digits), or null. */
    public static String extract(String text) {
        int i = text.lastIndexOf("####");
        if (i < 0) return null;
        String rest = text.substring(i + 4).trim();
        int end = 0;
        while (end < rest.length() && (Character.isDigit(rest.charAt(end)) || (end == 0 && rest.charAt(end) == '-'))) end++;
        String s = rest.substring(0, end);
        return s.isEmpty() || s.equals("-") ? null : s;
    }

    /** Whether a generated text states the reference's answer (false when the reference has none). */
    public static boolean matches(String reference, String generated) {
        String want = extract(reference);
        return want != null && want.equals(extract(generated));
    }
}
