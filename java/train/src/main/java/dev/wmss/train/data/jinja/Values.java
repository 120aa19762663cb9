package dev.wmss.train.data.jinja;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Jinja's (and so Python's) semantics over Java values: String, Long, Double, Boolean, null (None), List, Map,
 * {@link #UNDEFINED}; the string and dict methods, filters and tests chat templates use.
 */
final class Values {
    private Values() {}

    /** A missing variable, attribute or key: false, empty when printed, "is defined" false. */
    static final Object UNDEFINED = new Object() {
        @Override
        public String toString() {
            return "";
        }
    };

    @FunctionalInterface
    interface Function {
        Object call(List<Object> args, Map<String, Object> kwargs);
    }

    /** namespace(): a mutable object whose attributes can be set from inside loops. */
    static final class Namespace extends LinkedHashMap<String, Object> {
        private static final long serialVersionUID = 1L;
    }

    static boolean truthy(Object v) {
        if (v == null || v == UNDEFINED) return false;
        if (v instanceof Boolean b) return b;
        if (v instanceof Long l) return l != 0;
        if (v instanceof Double d) return d != 0;
        if (v instanceof String s) return !s.isEmpty();
        if (v instanceof Collection<?> c) return !c.isEmpty();
        if (v instanceof Map<?, ?> m) return !m.isEmpty();
        return true;
    }

    /** Python's str(). */
    static String str(Object v) {
        if (v == null) return "None";
        if (v == UNDEFINED) return "";
        if (v instanceof Boolean b) return b ? "True" : "False";
        if (v instanceof Double d) return d == Math.rint(d) && !Double.isInfinite(d) ? String.format(Locale.ROOT, "%.1f", d) : d.toString();
        if (v instanceof List<?> l) {
            List<String> parts = new ArrayList<>();
            for (Object o : l) parts.add(o instanceof String s ? "'" + s + "'" : str(o));
            return "[" + String.join(", ", parts) + "]";
        }
        return v.toString();
    }

    static Object attribute(Object target, String name) {
        if (target instanceof Map<?, ?> m) return m.containsKey(name) ? m.get(name) : UNDEFINED;
        return UNDEFINED;
    }

    static Object item(Object target, Object key) {
        if (target instanceof Map<?, ?> m) return m.containsKey(str(key)) ? m.get(str(key)) : UNDEFINED;
        if (key instanceof Long i && (target instanceof List<?> || target instanceof String)) {
            int n = length(target);
            long k = i < 0 ? i + n : i;
            if (k < 0 || k >= n) return UNDEFINED;
            return target instanceof List<?> l ? l.get((int) k) : String.valueOf(((String) target).charAt((int) k));
        }
        return UNDEFINED;
    }

    static Object slice(Object target, Object from, Object to, Object step) {
        int n = length(target);
        long st = step == null ? 1 : asLong(step);
        if (st == 0) throw new TemplateException("slice step cannot be zero");
        long a = from == null ? (st > 0 ? 0 : n - 1) : clamp(asLong(from), n, st);
        long b = to == null ? (st > 0 ? n : -1) : clamp(asLong(to), n, st);
        List<Object> out = new ArrayList<>();
        StringBuilder sb = new StringBuilder();
        for (long i = a; st > 0 ? i < b : i > b; i += st) {
            if (target instanceof String s) sb.append(s.charAt((int) i));
            else out.add(((List<?>) target).get((int) i));
        }
        return target instanceof String ? sb.toString() : out;
    }

    private static long clamp(long i, int n, long step) {
        if (i < 0) i += n;
        if (step > 0) return Math.max(0, Math.min(i, n));
        return Math.max(-1, Math.min(i, n - 1));
    }

    static int length(Object v) {
        if (v instanceof String s) return s.length();
        if (v instanceof Collection<?> c) return c.size();
        if (v instanceof Map<?, ?> m) return m.size();
        if (v == UNDEFINED || v == null) return 0;
        throw new TemplateException("object of type " + type(v) + " has no length");
    }

    static long asLong(Object v) {
        if (v instanceof Long l) return l;
        if (v instanceof Double d) return (long) (double) d;
        if (v instanceof Boolean b) return b ? 1 : 0;
        if (v instanceof String s) return Long.parseLong(s.strip());
        throw new TemplateException("expected a number, got " + type(v));
    }

    static String type(Object v) {
        return v == null ? "None" : v == UNDEFINED ? "Undefined" : v.getClass().getSimpleName();
    }

    static Object negate(Object v) {
        if (v instanceof Long l) return -l;
        if (v instanceof Double d) return -d;
        throw new TemplateException("bad operand for unary -: " + type(v));
    }

    static boolean equal(Object a, Object b) {
        if (a instanceof Number x && b instanceof Number y) return x.doubleValue() == y.doubleValue();
        if (a == UNDEFINED || b == UNDEFINED) return a == b;
        return Objects.equals(a, b);
    }

    static Object binary(String op, Object a, Object b) {
        switch (op) {
            case "==": return equal(a, b);
            case "!=": return !equal(a, b);
            case "in": return contains(b, a);
            case "not in": return !contains(b, a);
            case "~": return str(a) + str(b);
            default:
        }
        if (op.equals("+")) {
            if (a instanceof String x && b instanceof String y) return x + y;
            if (a instanceof List<?> x && b instanceof List<?> y) {
                List<Object> out = new ArrayList<>(x);
                out.addAll(y);
                return out;
            }
        }
        if (op.equals("*") && a instanceof String s && b instanceof Long n) return s.repeat((int) Math.max(0, n));
        if (!(a instanceof Number || a instanceof Boolean) || !(b instanceof Number || b instanceof Boolean)) {
            if ((op.equals("<") || op.equals(">") || op.equals("<=") || op.equals(">=")) && a instanceof String x
                    && b instanceof String y) {
                int c = x.compareTo(y);
                return op.equals("<") ? c < 0 : op.equals(">") ? c > 0 : op.equals("<=") ? c <= 0 : c >= 0;
            }
            throw new TemplateException("unsupported operand types for " + op + ": " + type(a) + " and " + type(b));
        }
        boolean ints = !(a instanceof Double) && !(b instanceof Double);
        double x = a instanceof Boolean ? asLong(a) : ((Number) a).doubleValue();
        double y = b instanceof Boolean ? asLong(b) : ((Number) b).doubleValue();
        return switch (op) {
            case "+" -> ints ? (Object) (asLong(a) + asLong(b)) : x + y;
            case "-" -> ints ? (Object) (asLong(a) - asLong(b)) : x - y;
            case "*" -> ints ? (Object) (asLong(a) * asLong(b)) : x * y;
            case "/" -> x / y;
            case "//" -> ints ? (Object) Math.floorDiv(asLong(a), asLong(b)) : Math.floor(x / y);
            case "%" -> ints ? (Object) Math.floorMod(asLong(a), asLong(b)) : x - y * Math.floor(x / y);
            case "**" -> ints && y >= 0 ? (Object) (long) Math.pow(x, y) : Math.pow(x, y);
            case "<" -> x < y;
            case ">" -> x > y;
            case "<=" -> x <= y;
            case ">=" -> x >= y;
            default -> throw new TemplateException("unknown operator " + op);
        };
    }

    static boolean contains(Object container, Object v) {
        if (container instanceof String s) return s.contains(str(v));
        if (container instanceof Map<?, ?> m) return m.containsKey(str(v));
        if (container instanceof Collection<?> c) {
            for (Object o : c) if (equal(o, v)) return true;
            return false;
        }
        if (container == UNDEFINED || container == null) return false;
        throw new TemplateException("argument of type " + type(container) + " is not iterable");
    }

    static List<?> iterable(Object v) {
        if (v instanceof List<?> l) return l;
        if (v instanceof Map<?, ?> m) return new ArrayList<>(m.keySet());
        if (v instanceof String s) return s.chars().mapToObj(c -> String.valueOf((char) c)).toList();
        if (v == UNDEFINED || v == null) return List.of();
        throw new TemplateException(type(v) + " is not iterable");
    }

    private static Object arg(List<Object> args, int i) {
        return i < args.size() ? args.get(i) : null;
    }

    /** Python's str and dict methods that chat templates call. */
    static Object callMethod(Object target, String name, List<Object> args, Map<String, Object> kwargs) {
        if (target instanceof String s) {
            String chars = arg(args, 0) == null ? null : str(arg(args, 0));
            switch (name) {
                case "strip": return chars == null ? s.strip() : rstrip(lstrip(s, chars), chars);
                case "lstrip": return chars == null ? s.stripLeading() : lstrip(s, chars);
                case "rstrip": return chars == null ? s.stripTrailing() : rstrip(s, chars);
                case "startswith": return startsOrEnds(s, arg(args, 0), true);
                case "endswith": return startsOrEnds(s, arg(args, 0), false);
                case "upper": return s.toUpperCase(Locale.ROOT);
                case "lower": return s.toLowerCase(Locale.ROOT);
                case "title": return title(s);
                case "capitalize": return s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
                case "replace": return s.replace(str(arg(args, 0)), str(arg(args, 1)));
                case "find": return (long) s.indexOf(str(arg(args, 0)));
                case "count": return (long) (s.isEmpty() ? 0 : s.split(java.util.regex.Pattern.quote(str(arg(args, 0))), -1).length - 1);
                case "join": {
                    List<String> parts = new ArrayList<>();
                    for (Object o : iterable(arg(args, 0))) parts.add(str(o));
                    return String.join(s, parts);
                }
                case "split": return split(s, chars, arg(args, 1) == null ? -1 : asLong(arg(args, 1)));
                case "format": return s; // rare; arguments are not interpolated
                default:
            }
        }
        if (target instanceof Map<?, ?> m) {
            switch (name) {
                case "items": {
                    List<Object> out = new ArrayList<>();
                    for (var e : m.entrySet()) out.add(List.of(e.getKey(), e.getValue() == null ? "None" : e.getValue()));
                    return out;
                }
                case "keys": return new ArrayList<>(m.keySet());
                case "values": return new ArrayList<>(m.values());
                case "get": return m.containsKey(str(arg(args, 0))) ? m.get(str(arg(args, 0))) : arg(args, 1);
                default:
            }
        }
        if (target instanceof List<?> l && name.equals("index")) return (long) l.indexOf(arg(args, 0));
        Object f = attribute(target, name);
        if (f instanceof Function fn) return fn.call(args, kwargs);
        throw new TemplateException(type(target) + " has no method " + name + "()");
    }

    private static boolean startsOrEnds(String s, Object prefix, boolean start) {
        List<?> options = prefix instanceof List<?> l ? l : List.of(str(prefix));
        for (Object p : options) if (start ? s.startsWith(str(p)) : s.endsWith(str(p))) return true;
        return false;
    }

    private static String lstrip(String s, String chars) {
        int i = 0;
        while (i < s.length() && chars.indexOf(s.charAt(i)) >= 0) i++;
        return s.substring(i);
    }

    private static String rstrip(String s, String chars) {
        int i = s.length();
        while (i > 0 && chars.indexOf(s.charAt(i - 1)) >= 0) i--;
        return s.substring(0, i);
    }

    private static String title(String s) {
        StringBuilder b = new StringBuilder();
        boolean start = true;
        for (char c : s.toCharArray()) {
            b.append(start ? Character.toUpperCase(c) : Character.toLowerCase(c));
            start = !Character.isLetter(c);
        }
        return b.toString();
    }

    private static List<Object> split(String s, String sep, long max) {
        List<Object> out = new ArrayList<>();
        if (sep == null) {
            for (String p : s.strip().split("\\s+", max < 0 ? 0 : (int) max + 1)) if (!p.isEmpty()) out.add(p);
            return out;
        }
        if (sep.isEmpty()) throw new TemplateException("empty separator");
        int from = 0;
        for (int i = s.indexOf(sep); i >= 0 && (max < 0 || out.size() < max); i = s.indexOf(sep, from)) {
            out.add(s.substring(from, i));
            from = i + sep.length();
        }
        out.add(s.substring(from));
        return out;
    }

    static Object filter(String name, Object v, List<Object> args, Map<String, Object> kwargs) {
        switch (name) {
            case "trim": return str(v).strip();
            case "length": case "count": return (long) length(v);
            case "first": { List<?> l = iterable(v); return l.isEmpty() ? UNDEFINED : l.getFirst(); }
            case "last": { List<?> l = iterable(v); return l.isEmpty() ? UNDEFINED : l.getLast(); }
            case "string": return str(v);
            case "upper": return str(v).toUpperCase(Locale.ROOT);
            case "lower": return str(v).toLowerCase(Locale.ROOT);
            case "title": return title(str(v));
            case "capitalize": return callMethod(str(v), "capitalize", args, kwargs);
            case "replace": return str(v).replace(str(arg(args, 0)), str(arg(args, 1)));
            case "int": try { return asLong(v); } catch (RuntimeException e) { return 0L; }
            case "float": return v instanceof Number n ? n.doubleValue() : Double.parseDouble(str(v));
            case "abs": return v instanceof Long l ? (Object) Math.abs(l) : Math.abs(((Number) v).doubleValue());
            case "safe": case "e": case "escape": return v;
            case "list": return new ArrayList<>(iterable(v));
            case "reverse": {
                if (v instanceof String s) return new StringBuilder(s).reverse().toString();
                List<Object> l = new ArrayList<>(iterable(v));
                java.util.Collections.reverse(l);
                return l;
            }
            case "join": {
                List<String> parts = new ArrayList<>();
                for (Object o : iterable(v)) parts.add(str(o));
                return String.join(arg(args, 0) == null ? "" : str(arg(args, 0)), parts);
            }
            case "default": case "d": {
                boolean falsy = args.size() > 1 && truthy(args.get(1));
                return v == UNDEFINED || (falsy && !truthy(v)) ? (args.isEmpty() ? "" : args.get(0)) : v;
            }
            case "items": return callMethod(v, "items", args, kwargs);
            case "tojson": return toJson(v, kwargs.get("indent") == null ? arg(args, 0) : kwargs.get("indent"));
            case "selectattr": case "rejectattr": {
                List<Object> out = new ArrayList<>();
                String attr = str(arg(args, 0));
                for (Object o : iterable(v)) {
                    Object a = attribute(o, attr);
                    boolean ok = args.size() < 2 ? truthy(a) : test(str(args.get(1)), a, args.subList(2, args.size()));
                    if (ok == name.equals("selectattr")) out.add(o);
                }
                return out;
            }
            case "map": {
                List<Object> out = new ArrayList<>();
                for (Object o : iterable(v)) {
                    out.add(kwargs.containsKey("attribute") ? attribute(o, str(kwargs.get("attribute")))
                            : filter(str(arg(args, 0)), o, args.subList(1, args.size()), Map.of()));
                }
                return out;
            }
            case "indent": {
                String pad = " ".repeat((int) (arg(args, 0) == null ? 4 : asLong(arg(args, 0))));
                return str(v).replace("\n", "\n" + pad);
            }
            default: throw new TemplateException("unknown filter " + name);
        }
    }

    static boolean test(String name, Object v, List<Object> args) {
        return switch (name) {
            case "defined" -> v != UNDEFINED;
            case "undefined" -> v == UNDEFINED;
            case "none" -> v == null;
            case "string" -> v instanceof String;
            case "number" -> v instanceof Long || v instanceof Double;
            case "integer" -> v instanceof Long;
            case "float" -> v instanceof Double;
            case "boolean" -> v instanceof Boolean;
            case "true" -> Boolean.TRUE.equals(v);
            case "false" -> Boolean.FALSE.equals(v);
            case "mapping" -> v instanceof Map<?, ?>;
            case "sequence", "iterable" -> v instanceof List<?> || v instanceof String || v instanceof Map<?, ?>;
            case "equalto", "eq", "==", "sameas" -> equal(v, arg(args, 0));
            case "ne", "!=" -> !equal(v, arg(args, 0));
            case "odd" -> asLong(v) % 2 != 0;
            case "even" -> asLong(v) % 2 == 0;
            case "divisibleby" -> asLong(v) % asLong(arg(args, 0)) == 0;
            case "in" -> contains(arg(args, 0), v);
            default -> throw new TemplateException("unknown test " + name);
        };
    }

    private static final Gson JSON = new GsonBuilder().disableHtmlEscaping().serializeNulls().create();

    /** Python's json.dumps as Hugging Face's tojson calls it (ensure_ascii=False; ", " and ": " separators). */
    static String toJson(Object v, Object indent) {
        return json(v, indent == null ? -1 : (int) asLong(indent), 0);
    }

    private static String json(Object v, int indent, int depth) {
        v = plain(v);
        String sep = indent < 0 ? ", " : ",\n" + " ".repeat(indent * (depth + 1));
        String open = indent < 0 ? "" : "\n" + " ".repeat(indent * (depth + 1));
        String close = indent < 0 ? "" : "\n" + " ".repeat(indent * depth);
        if (v instanceof Map<?, ?> m) {
            if (m.isEmpty()) return "{}";
            List<String> parts = new ArrayList<>();
            for (var e : m.entrySet()) parts.add(JSON.toJson(str(e.getKey())) + ": " + json(e.getValue(), indent, depth + 1));
            return "{" + open + String.join(sep, parts) + close + "}";
        }
        if (v instanceof List<?> l) {
            if (l.isEmpty()) return "[]";
            List<String> parts = new ArrayList<>();
            for (Object o : l) parts.add(json(o, indent, depth + 1));
            return "[" + open + String.join(sep, parts) + close + "]";
        }
        return JSON.toJson(v);
    }

    private static Object plain(Object v) {
        return v == UNDEFINED ? null : v;
    }
}
