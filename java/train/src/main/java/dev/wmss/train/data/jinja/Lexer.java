package dev.wmss.train.data.jinja;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits a template into text, {{ expression }}, {% statement %} and {# comment #} pieces, and an expression or
 * statement into tokens. Applies Hugging Face's environment settings: trim_blocks (the first newline after a
 * statement is dropped) and lstrip_blocks (spaces and tabs before a statement at the start of a line are dropped),
 * plus the explicit "-" whitespace control on either side of a tag.
 */
final class Lexer {
    enum Kind { TEXT, EXPR, STMT }

    record Piece(Kind kind, String text, int line) {}

    enum T { NAME, STRING, INT, FLOAT, OP, END }

    record Token(T type, String text) {}

    private Lexer() {}

    static List<Piece> pieces(String src) {
        List<Piece> out = new ArrayList<>();
        int i = 0, line = 1;
        boolean trimNextNewline = false, stripNextLeading = false;
        while (i < src.length()) {
            int open = nextTag(src, i);
            String text = open < 0 ? src.substring(i) : src.substring(i, open);
            boolean lineStart = i == 0 || src.charAt(i - 1) == '\n';
            if (stripNextLeading) {
                text = text.stripLeading();
            } else if (trimNextNewline && (text.startsWith("\n") || text.startsWith("\r\n"))) {
                text = text.substring(text.indexOf('\n') + 1);
                lineStart = true;
            }
            trimNextNewline = stripNextLeading = false;
            if (open < 0) {
                if (!text.isEmpty()) out.add(new Piece(Kind.TEXT, text, line));
                break;
            }
            char type = src.charAt(open + 1);
            boolean leftTrim = open + 2 < src.length() && src.charAt(open + 2) == '-';
            String close = type == '{' ? "}}" : type == '%' ? "%}" : "#}";
            int end = type == '#' ? src.indexOf(close, open + 2) : closing(src, open + 2, close);
            if (end < 0) throw new TemplateException("line " + line + ": unclosed " + src.substring(open, open + 2));
            boolean rightTrim = end > open + 2 && src.charAt(end - 1) == '-';
            if (leftTrim) text = text.stripTrailing();
            else if (type != '{') text = lstripBlock(text, lineStart); // lstrip_blocks: statements and comments
            if (!text.isEmpty()) out.add(new Piece(Kind.TEXT, text, line));
            line += count(src, i, open);
            String inner = src.substring(open + 2 + (leftTrim ? 1 : 0), rightTrim ? end - 1 : end).strip();
            if (type == '{') out.add(new Piece(Kind.EXPR, inner, line));
            else if (type == '%') out.add(new Piece(Kind.STMT, inner, line));
            line += count(src, open, end);
            stripNextLeading = rightTrim;
            trimNextNewline = type != '{'; // trim_blocks
            i = end + 2;
        }
        return out;
    }

    /** Where a tag's closing delimiter starts, skipping string literals (as in {{ "}}" }}); -1 if none. */
    private static int closing(String s, int from, String close) {
        char quote = 0;
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (s.startsWith(close, i)) {
                return i;
            }
        }
        return -1;
    }

    private static int nextTag(String s, int from) {
        for (int i = s.indexOf('{', from); i >= 0 && i + 1 < s.length(); i = s.indexOf('{', i + 1)) {
            char c = s.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') return i;
        }
        return -1;
    }

    /** Removes spaces and tabs between the last newline (or the start) and a block tag. */
    private static String lstripBlock(String text, boolean startsALine) {
        int k = text.length();
        while (k > 0 && (text.charAt(k - 1) == ' ' || text.charAt(k - 1) == '\t')) k--;
        return (k == 0 && startsALine) || (k > 0 && text.charAt(k - 1) == '\n') ? text.substring(0, k) : text;
    }

    private static int count(String s, int from, int to) {
        int n = 0;
        for (int i = from; i < to; i++) if (s.charAt(i) == '\n') n++;
        return n;
    }

    private static final String[] OPS = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "(",
            ")", "[", "]", "{", "}", ".", ",", ":", "|", "="};

    static List<Token> tokens(String s) {
        List<Token> out = new ArrayList<>();
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (Character.isLetter(c) || c == '_') {
                int j = i;
                while (j < s.length() && (Character.isLetterOrDigit(s.charAt(j)) || s.charAt(j) == '_')) j++;
                out.add(new Token(T.NAME, s.substring(i, j)));
                i = j;
            } else if (Character.isDigit(c)) {
                int j = i;
                while (j < s.length() && Character.isDigit(s.charAt(j))) j++;
                boolean fraction = j + 1 < s.length() && s.charAt(j) == '.' && Character.isDigit(s.charAt(j + 1));
                if (fraction) {
                    j++;
                    while (j < s.length() && Character.isDigit(s.charAt(j))) j++;
                }
                out.add(new Token(fraction ? T.FLOAT : T.INT, s.substring(i, j)));
                i = j;
            } else if (c == '\'' || c == '"') {
                StringBuilder b = new StringBuilder();
                int j = i + 1;
                for (; j < s.length() && s.charAt(j) != c; j++) {
                    char d = s.charAt(j);
                    if (d != '\\' || j + 1 >= s.length()) {
                        b.append(d);
                        continue;
                    }
                    char e = s.charAt(++j);
                    switch (e) {
                        case 'n' -> b.append('\n');
                        case 't' -> b.append('\t');
                        case 'r' -> b.append('\r');
                        case 'u' -> {
                            b.append((char) Integer.parseInt(s.substring(j + 1, j + 5), 16));
                            j += 4;
                        }
                        default -> b.append(e);
                    }
                }
                if (j >= s.length()) throw new TemplateException("unterminated string in: " + s);
                out.add(new Token(T.STRING, b.toString()));
                i = j + 1;
            } else {
                String op = null;
                for (String o : OPS) {
                    if (s.startsWith(o, i)) {
                        op = o;
                        break;
                    }
                }
                if (op == null) throw new TemplateException("unexpected '" + c + "' in: " + s);
                out.add(new Token(T.OP, op));
                i += op.length();
            }
        }
        out.add(new Token(T.END, ""));
        return out;
    }
}
