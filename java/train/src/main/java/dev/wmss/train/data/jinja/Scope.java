package dev.wmss.train.data.jinja;

import java.util.HashMap;
import java.util.Map;

/** Variables: a chain of frames (a for loop's body gets its own; set in it does not leak out, as in Jinja). */
final class Scope {
    private final Scope parent;
    private final Map<String, Object> vars = new HashMap<>();

    Scope(Scope parent) {
        this.parent = parent;
    }

    Object get(String name) {
        for (Scope s = this; s != null; s = s.parent) {
            if (s.vars.containsKey(name)) return s.vars.get(name);
        }
        return Values.UNDEFINED;
    }

    void set(String name, Object value) {
        vars.put(name, value);
    }
}
