package dev.wmss.train.data.jinja;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Statements of a template and their execution. */
sealed interface Node {
    /** break / continue travel up to the enclosing loop as these. */
    final class LoopControl extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final boolean isBreak;

        LoopControl(boolean isBreak) {
            super(null, null, false, false);
            this.isBreak = isBreak;
        }
    }

    void run(Scope s, StringBuilder out);

    static void run(List<Node> nodes, Scope s, StringBuilder out) {
        for (Node n : nodes) n.run(s, out);
    }

    record Text(String text) implements Node {
        public void run(Scope s, StringBuilder out) {
            out.append(text);
        }
    }

    record Output(Expr value) implements Node {
        public void run(Scope s, StringBuilder out) {
            out.append(Values.str(value.eval(s)));
        }
    }

    record Group(List<Node> body) implements Node {
        public void run(Scope s, StringBuilder out) {
            Node.run(body, s, out);
        }
    }

    record If(List<Expr> conditions, List<List<Node>> bodies, List<Node> otherwise) implements Node {
        public void run(Scope s, StringBuilder out) {
            for (int i = 0; i < conditions.size(); i++) {
                if (Values.truthy(conditions.get(i).eval(s))) {
                    Node.run(bodies.get(i), s, out);
                    return;
                }
            }
            Node.run(otherwise, s, out);
        }
    }

    record Set(String name, String attribute, Expr value) implements Node {
        @SuppressWarnings("unchecked")
        public void run(Scope s, StringBuilder out) {
            Object v = value.eval(s);
            if (attribute == null) {
                s.set(name, v);
                return;
            }
            if (!(s.get(name) instanceof Values.Namespace ns)) {
                throw new TemplateException("cannot set " + name + "." + attribute + ": " + name + " is not a namespace");
            }
            ns.put(attribute, v);
        }
    }

    record Break() implements Node {
        public void run(Scope s, StringBuilder out) {
            throw new LoopControl(true);
        }
    }

    record Continue() implements Node {
        public void run(Scope s, StringBuilder out) {
            throw new LoopControl(false);
        }
    }

    record For(List<String> vars, Expr iterable, Expr filter, List<Node> body, List<Node> otherwise) implements Node {
        public void run(Scope s, StringBuilder out) {
            List<Object> items = new ArrayList<>();
            for (Object item : Values.iterable(iterable.eval(s))) {
                if (filter == null) {
                    items.add(item);
                    continue;
                }
                Scope f = new Scope(s);
                bind(f, item);
                if (Values.truthy(filter.eval(f))) items.add(item);
            }
            if (items.isEmpty()) {
                Node.run(otherwise, s, out);
                return;
            }
            for (int i = 0; i < items.size(); i++) {
                Scope inner = new Scope(s);
                bind(inner, items.get(i));
                Map<String, Object> loop = new LinkedHashMap<>();
                loop.put("index", (long) i + 1);
                loop.put("index0", (long) i);
                loop.put("revindex", (long) (items.size() - i));
                loop.put("revindex0", (long) (items.size() - i - 1));
                loop.put("first", i == 0);
                loop.put("last", i == items.size() - 1);
                loop.put("length", (long) items.size());
                loop.put("previtem", i > 0 ? items.get(i - 1) : Values.UNDEFINED);
                loop.put("nextitem", i + 1 < items.size() ? items.get(i + 1) : Values.UNDEFINED);
                inner.set("loop", loop);
                try {
                    Node.run(body, inner, out);
                } catch (LoopControl c) {
                    if (c.isBreak) break;
                }
            }
        }

        private void bind(Scope scope, Object item) {
            if (vars.size() == 1) {
                scope.set(vars.getFirst(), item);
                return;
            }
            List<?> parts = Values.iterable(item);
            if (parts.size() != vars.size()) {
                throw new TemplateException("cannot unpack " + parts.size() + " values into " + vars);
            }
            for (int k = 0; k < vars.size(); k++) scope.set(vars.get(k), parts.get(k));
        }
    }
}
