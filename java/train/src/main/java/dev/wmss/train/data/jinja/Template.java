package dev.wmss.train.data.jinja;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The subset of Jinja2 that Hugging Face chat templates are written in, rendered as transformers renders them
 * (trim_blocks, lstrip_blocks, loop controls, the raise_exception / strftime_now globals): text, {{ }}, if / elif /
 * else, for (with loop.*, an "if" filter, else, break, continue, unpacking), set (also namespace attributes),
 * generation blocks, and Python-style expressions with the str / dict methods, filters and tests of {@link Values}.
 * Macros and template inheritance are not supported: such a template is refused with a message.
 * <p>
 * Checked against Jinja2 on real templates (Qwen3, Llama 3.1, Mistral Nemo): TemplateGoldenTest. A maintained
 * engine, jinjava 2.8.0, was tried first (issue 21) and renders them differently: it parses {@code not x is defined}
 * as {@code (not x) is defined} (so Llama 3.1 and Mistral silently drop their tools and Llama's date_string), cannot
 * parse {@code messages[::-1]} or {@code namespace(n=messages|length - 1)} (Qwen3), lacks Python's str methods
 * (startswith, lstrip(chars)) and prints {@code true} / nothing where Jinja2 prints {@code True} / {@code None}.
 */
public final class Template {
    private final List<Node> body;

    private Template(List<Node> body) {
        this.body = body;
    }

    public static Template parse(String source) {
        Parser p = new Parser(Lexer.pieces(source));
        List<Node> nodes = p.block(List.of());
        if (p.pos < p.pieces.size()) throw new TemplateException("unexpected {% " + p.pieces.get(p.pos).text() + " %}");
        return new Template(nodes);
    }

    /** Renders with the given variables (String, Long/Integer, Double, Boolean, null, List, Map). */
    public String render(Map<String, Object> variables) {
        Scope globals = new Scope(null);
        globals.set("raise_exception", (Values.Function) (a, k) -> {
            throw new TemplateException(a.isEmpty() ? "raise_exception" : Values.str(a.getFirst()));
        });
        globals.set("namespace", (Values.Function) (a, k) -> {
            Values.Namespace ns = new Values.Namespace();
            ns.putAll(k);
            return ns;
        });
        globals.set("range", (Values.Function) (a, k) -> {
            long from = a.size() > 1 ? Values.asLong(a.get(0)) : 0, to = Values.asLong(a.get(a.size() > 1 ? 1 : 0));
            List<Object> out = new ArrayList<>();
            for (long i = from; i < to; i++) out.add(i);
            return out;
        });
        globals.set("strftime_now", (Values.Function) (a, k) -> strftime(Values.str(a.getFirst())));
        globals.set("true", true);
        globals.set("false", false);
        globals.set("none", null);
        Scope scope = new Scope(globals);
        variables.forEach((k, v) -> scope.set(k, normalise(v)));
        StringBuilder out = new StringBuilder();
        Node.run(body, scope, out);
        return out.toString();
    }

    /** Java ints and other numbers become Long / Double, nested. */
    private static Object normalise(Object v) {
        if (v instanceof Integer || v instanceof Short || v instanceof Byte) return ((Number) v).longValue();
        if (v instanceof Float f) return f.doubleValue();
        if (v instanceof List<?> l) return l.stream().map(Template::normalise).toList();
        if (v instanceof Map<?, ?> m) {
            Map<String, Object> out = new LinkedHashMap<>();
            m.forEach((k, x) -> out.put(String.valueOf(k), normalise(x)));
            return out;
        }
        return v;
    }

    private static String strftime(String fmt) {
        LocalDateTime now = LocalDateTime.now();
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < fmt.length(); i++) {
            char c = fmt.charAt(i);
            if (c != '%' || i + 1 >= fmt.length()) {
                b.append(c);
                continue;
            }
            char f = fmt.charAt(++i);
            String pattern = switch (f) {
                case 'd' -> "dd";
                case 'm' -> "MM";
                case 'Y' -> "yyyy";
                case 'y' -> "yy";
                case 'b' -> "MMM";
                case 'B' -> "MMMM";
                case 'H' -> "HH";
                case 'M' -> "mm";
                case 'S' -> "ss";
                default -> null;
            };
            b.append(pattern == null ? "%" + f : now.format(DateTimeFormatter.ofPattern(pattern, Locale.ENGLISH)));
        }
        return b.toString();
    }

    /** Statement parser over the lexer's pieces; expressions by precedence climbing over tokens. */
    static final class Parser {
        final List<Lexer.Piece> pieces;
        int pos;

        Parser(List<Lexer.Piece> pieces) {
            this.pieces = pieces;
        }

        /** Nodes up to (not including) a statement whose first word is one of the enders. */
        List<Node> block(List<String> enders) {
            List<Node> out = new ArrayList<>();
            while (pos < pieces.size()) {
                Lexer.Piece p = pieces.get(pos);
                switch (p.kind()) {
                    case TEXT -> {
                        out.add(new Node.Text(p.text()));
                        pos++;
                    }
                    case EXPR -> {
                        out.add(new Node.Output(new Exprs(Lexer.tokens(p.text()), p).full()));
                        pos++;
                    }
                    case STMT -> {
                        String word = p.text().split("\\s+", 2)[0];
                        if (enders.contains(word)) return out;
                        pos++;
                        out.add(statement(word, p));
                    }
                }
            }
            if (!enders.isEmpty()) throw new TemplateException("missing {% " + enders.getLast() + " %}");
            return out;
        }

        private Node statement(String word, Lexer.Piece p) {
            Exprs e = new Exprs(Lexer.tokens(p.text()), p);
            e.next(); // the keyword
            switch (word) {
                case "if": {
                    List<Expr> conds = new ArrayList<>();
                    List<List<Node>> bodies = new ArrayList<>();
                    conds.add(e.full());
                    List<Node> otherwise = List.of();
                    while (true) {
                        bodies.add(block(List.of("elif", "else", "endif")));
                        Lexer.Piece end = pieces.get(pos++);
                        String w = end.text().split("\\s+", 2)[0];
                        if (w.equals("elif")) {
                            Exprs c = new Exprs(Lexer.tokens(end.text()), end);
                            c.next();
                            conds.add(c.full());
                        } else if (w.equals("else")) {
                            otherwise = block(List.of("endif"));
                            pos++;
                            break;
                        } else {
                            break;
                        }
                    }
                    return new Node.If(conds, bodies, otherwise);
                }
                case "for": {
                    List<String> vars = new ArrayList<>();
                    vars.add(e.name());
                    while (e.accept(",")) vars.add(e.name());
                    e.expectWord("in");
                    Expr iter = e.or(false);
                    Expr filter = e.acceptWord("if") ? e.or(true) : null;
                    e.end();
                    List<Node> body = block(List.of("else", "endfor"));
                    List<Node> otherwise = List.of();
                    if (pieces.get(pos++).text().startsWith("else")) {
                        otherwise = block(List.of("endfor"));
                        pos++;
                    }
                    return new Node.For(vars, iter, filter, body, otherwise);
                }
                case "set": {
                    String name = e.name(), attr = e.accept(".") ? e.name() : null;
                    e.expect("=");
                    return new Node.Set(name, attr, e.full());
                }
                case "break": return new Node.Break();
                case "continue": return new Node.Continue();
                case "generation": {
                    List<Node> body = block(List.of("endgeneration"));
                    pos++;
                    return new Node.Group(body);
                }
                default:
                    throw new TemplateException("line " + p.line() + ": {% " + word + " %} is not supported by this renderer");
            }
        }
    }

    /** Expression parser over one tag's tokens. */
    static final class Exprs {
        private final List<Lexer.Token> t;
        private final Lexer.Piece where;
        private int i;

        Exprs(List<Lexer.Token> tokens, Lexer.Piece where) {
            this.t = tokens;
            this.where = where;
        }

        Lexer.Token peek() {
            return t.get(i);
        }

        Lexer.Token next() {
            return t.get(i++);
        }

        boolean accept(String op) {
            if (peek().type() == Lexer.T.OP && peek().text().equals(op)) {
                i++;
                return true;
            }
            return false;
        }

        boolean acceptWord(String w) {
            if (peek().type() == Lexer.T.NAME && peek().text().equals(w)) {
                i++;
                return true;
            }
            return false;
        }

        void expect(String op) {
            if (!accept(op)) throw error("expected '" + op + "'");
        }

        void expectWord(String w) {
            if (!acceptWord(w)) throw error("expected '" + w + "'");
        }

        String name() {
            if (peek().type() != Lexer.T.NAME) throw error("expected a name");
            return next().text();
        }

        void end() {
            if (peek().type() != Lexer.T.END) throw error("unexpected '" + peek().text() + "'");
        }

        TemplateException error(String what) {
            return new TemplateException("line " + where.line() + ": " + what + " in '" + where.text() + "'");
        }

        Expr full() {
            Expr e = conditional();
            end();
            return e;
        }

        Expr conditional() {
            Expr e = or(false);
            if (acceptWord("if")) {
                Expr cond = or(false);
                Expr otherwise = acceptWord("else") ? conditional() : null;
                return new Expr.Conditional(e, cond, otherwise);
            }
            return e;
        }

        /** noIf: inside a for's filter, where "if" cannot start a conditional. */
        Expr or(boolean noIf) {
            Expr e = and();
            while (acceptWord("or")) e = new Expr.Binary("or", e, and());
            return e;
        }

        Expr and() {
            Expr e = not();
            while (acceptWord("and")) e = new Expr.Binary("and", e, not());
            return e;
        }

        Expr not() {
            if (acceptWord("not")) return new Expr.Unary("not", not());
            return comparison();
        }

        Expr comparison() {
            Expr e = concat();
            while (true) {
                Lexer.Token k = peek();
                if (k.type() == Lexer.T.OP && List.of("==", "!=", "<", ">", "<=", ">=").contains(k.text())) {
                    i++;
                    e = new Expr.Binary(k.text(), e, concat());
                } else if (acceptWord("in")) {
                    e = new Expr.Binary("in", e, concat());
                } else if (k.type() == Lexer.T.NAME && k.text().equals("not") && t.get(i + 1).text().equals("in")) {
                    i += 2;
                    e = new Expr.Binary("not in", e, concat());
                } else if (acceptWord("is")) {
                    boolean negated = acceptWord("not");
                    String test = peek().type() == Lexer.T.OP ? next().text() : name();
                    List<Expr> args = new ArrayList<>();
                    if (accept("(")) {
                        args = arguments(new LinkedHashMap<>());
                    } else if (peek().type() == Lexer.T.STRING || peek().type() == Lexer.T.INT
                            || peek().type() == Lexer.T.FLOAT || (peek().type() == Lexer.T.NAME
                            && !List.of("and", "or", "else", "if", "not", "in", "is").contains(peek().text()))) {
                        args.add(primary());
                    }
                    e = new Expr.Test(e, test, args, negated);
                } else {
                    return e;
                }
            }
        }

        Expr concat() {
            Expr e = additive();
            while (accept("~")) e = new Expr.Binary("~", e, additive());
            return e;
        }

        Expr additive() {
            Expr e = multiplicative();
            while (true) {
                if (accept("+")) e = new Expr.Binary("+", e, multiplicative());
                else if (accept("-")) e = new Expr.Binary("-", e, multiplicative());
                else return e;
            }
        }

        Expr multiplicative() {
            Expr e = unary();
            while (true) {
                String op = peek().type() == Lexer.T.OP ? peek().text() : "";
                if (!List.of("*", "/", "//", "%").contains(op)) return e;
                i++;
                e = new Expr.Binary(op, e, unary());
            }
        }

        Expr unary() {
            if (accept("-")) return new Expr.Unary("-", unary());
            if (accept("+")) return unary();
            Expr e = postfix(primary());
            if (accept("**")) e = new Expr.Binary("**", e, unary());
            return e;
        }

        Expr primary() {
            Lexer.Token k = next();
            switch (k.type()) {
                case STRING: {
                    StringBuilder s = new StringBuilder(k.text());
                    while (peek().type() == Lexer.T.STRING) s.append(next().text()); // adjacent literals join
                    return new Expr.Literal(s.toString());
                }
                case INT: return new Expr.Literal(Long.parseLong(k.text()));
                case FLOAT: return new Expr.Literal(Double.parseDouble(k.text()));
                case NAME:
                    return switch (k.text()) {
                        case "true", "True" -> new Expr.Literal(true);
                        case "false", "False" -> new Expr.Literal(false);
                        case "none", "None" -> new Expr.Literal(null);
                        default -> new Expr.Name(k.text());
                    };
                case OP:
                    if (k.text().equals("(")) {
                        Expr e = conditional();
                        expect(")");
                        return e;
                    }
                    if (k.text().equals("[")) {
                        List<Expr> items = new ArrayList<>();
                        while (!accept("]")) {
                            items.add(conditional());
                            if (!accept(",")) {
                                expect("]");
                                break;
                            }
                        }
                        return new Expr.ListOf(items);
                    }
                    if (k.text().equals("{")) {
                        List<Expr> keys = new ArrayList<>(), values = new ArrayList<>();
                        while (!accept("}")) {
                            keys.add(conditional());
                            expect(":");
                            values.add(conditional());
                            if (!accept(",")) {
                                expect("}");
                                break;
                            }
                        }
                        return new Expr.DictOf(keys, values);
                    }
                    // fall through
                default:
                    i--;
                    throw error("unexpected '" + k.text() + "'");
            }
        }

        Expr postfix(Expr e) {
            while (true) {
                if (accept(".")) {
                    e = new Expr.Attr(e, name());
                } else if (accept("[")) {
                    Expr from = null, to = null, step = null;
                    if (!(peek().text().equals(":") && peek().type() == Lexer.T.OP)) from = conditional();
                    if (accept(":")) {
                        if (!isOp(":") && !isOp("]")) to = conditional();
                        if (accept(":") && !isOp("]")) step = conditional();
                        expect("]");
                        e = new Expr.Slice(e, from, to, step);
                    } else {
                        expect("]");
                        e = new Expr.Index(e, from);
                    }
                } else if (accept("(")) {
                    Map<String, Expr> kwargs = new LinkedHashMap<>();
                    List<Expr> args = arguments(kwargs);
                    e = new Expr.Call(e, args, kwargs);
                } else if (accept("|")) {
                    String f = name();
                    Map<String, Expr> kwargs = new LinkedHashMap<>();
                    List<Expr> args = accept("(") ? arguments(kwargs) : List.of();
                    e = new Expr.Filter(e, f, args, kwargs);
                } else {
                    return e;
                }
            }
        }

        private boolean isOp(String op) {
            return peek().type() == Lexer.T.OP && peek().text().equals(op);
        }

        /** Arguments after "(" up to and including ")"; keyword arguments go to kwargs. */
        List<Expr> arguments(Map<String, Expr> kwargs) {
            List<Expr> args = new ArrayList<>();
            while (!accept(")")) {
                if (peek().type() == Lexer.T.NAME && t.get(i + 1).text().equals("=") && t.get(i + 1).type() == Lexer.T.OP) {
                    String k = next().text();
                    i++;
                    kwargs.put(k, conditional());
                } else {
                    args.add(conditional());
                }
                if (!accept(",")) {
                    expect(")");
                    break;
                }
            }
            return args;
        }
    }
}
