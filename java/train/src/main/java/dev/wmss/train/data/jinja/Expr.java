package dev.wmss.train.data.jinja;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Expressions, parsed by precedence climbing; evaluated against a {@link Scope}. */
sealed interface Expr {
    Object eval(Scope s);

    record Literal(Object value) implements Expr {
        public Object eval(Scope s) {
            return value;
        }
    }

    record Name(String name) implements Expr {
        public Object eval(Scope s) {
            return s.get(name);
        }
    }

    record ListOf(List<Expr> items) implements Expr {
        public Object eval(Scope s) {
            List<Object> out = new ArrayList<>();
            for (Expr e : items) out.add(e.eval(s));
            return out;
        }
    }

    record DictOf(List<Expr> keys, List<Expr> values) implements Expr {
        public Object eval(Scope s) {
            Map<String, Object> out = new LinkedHashMap<>();
            for (int i = 0; i < keys.size(); i++) out.put(Values.str(keys.get(i).eval(s)), values.get(i).eval(s));
            return out;
        }
    }

    record Attr(Expr target, String name) implements Expr {
        public Object eval(Scope s) {
            return Values.attribute(target.eval(s), name);
        }
    }

    record Index(Expr target, Expr key) implements Expr {
        public Object eval(Scope s) {
            return Values.item(target.eval(s), key.eval(s));
        }
    }

    record Slice(Expr target, Expr from, Expr to, Expr step) implements Expr {
        public Object eval(Scope s) {
            return Values.slice(target.eval(s), from == null ? null : from.eval(s), to == null ? null : to.eval(s),
                    step == null ? null : step.eval(s));
        }
    }

    record Call(Expr target, List<Expr> args, Map<String, Expr> kwargs) implements Expr {
        public Object eval(Scope s) {
            List<Object> a = new ArrayList<>();
            for (Expr e : args) a.add(e.eval(s));
            Map<String, Object> k = new LinkedHashMap<>();
            kwargs.forEach((n, e) -> k.put(n, e.eval(s)));
            if (target instanceof Attr at) return Values.callMethod(at.target().eval(s), at.name(), a, k);
            Object f = target.eval(s);
            if (f instanceof Values.Function fn) return fn.call(a, k);
            throw new TemplateException(describe(target) + " is not callable");
        }
    }

    record Filter(Expr value, String name, List<Expr> args, Map<String, Expr> kwargs) implements Expr {
        public Object eval(Scope s) {
            List<Object> a = new ArrayList<>();
            for (Expr e : args) a.add(e.eval(s));
            Map<String, Object> k = new LinkedHashMap<>();
            kwargs.forEach((n, e) -> k.put(n, e.eval(s)));
            return Values.filter(name, value.eval(s), a, k);
        }
    }

    record Test(Expr value, String name, List<Expr> args, boolean negated) implements Expr {
        public Object eval(Scope s) {
            List<Object> a = new ArrayList<>();
            for (Expr e : args) a.add(e.eval(s));
            return Values.test(name, value.eval(s), a) != negated;
        }
    }

    record Unary(String op, Expr value) implements Expr {
        public Object eval(Scope s) {
            Object v = value.eval(s);
            return op.equals("not") ? !Values.truthy(v) : Values.negate(v);
        }
    }

    record Binary(String op, Expr left, Expr right) implements Expr {
        public Object eval(Scope s) {
            if (op.equals("and")) {
                Object l = left.eval(s);
                return Values.truthy(l) ? right.eval(s) : l;
            }
            if (op.equals("or")) {
                Object l = left.eval(s);
                return Values.truthy(l) ? l : right.eval(s);
            }
            return Values.binary(op, left.eval(s), right.eval(s));
        }
    }

    record Conditional(Expr then, Expr condition, Expr otherwise) implements Expr {
        public Object eval(Scope s) {
            if (Values.truthy(condition.eval(s))) return then.eval(s);
            return otherwise == null ? Values.UNDEFINED : otherwise.eval(s);
        }
    }

    static String describe(Expr e) {
        if (e instanceof Name n) return n.name();
        if (e instanceof Attr a) return describe(a.target()) + "." + a.name();
        return "expression";
    }
}
