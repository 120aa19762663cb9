package dev.wmss.train.method;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What differs between the settings a run directory was made with and those of the command that resumes it: one
 * line per field, named as its option ("--lr: run 0.003, now 0.001"), never whole JSON objects. Nested objects
 * are compared field by field; a field named in {@code ignored} (one that changes only logging or checkpoint
 * frequency) may differ.
 */
public final class SettingsDiff {
    private SettingsDiff() {}

    /**
     * names: option name by field path ("sft.lr") or by the field's own name ("lr"); a field without one is shown by
     * its path. Identical lines (one option recorded in two places) are given once.
     */
    public static List<String> of(JsonObject was, JsonObject now, Map<String, String> names, Set<String> ignored) {
        Map<String, String> a = flatten(was), b = flatten(now);
        Set<String> paths = new LinkedHashSet<>(b.keySet());
        paths.addAll(a.keySet());
        Set<String> lines = new LinkedHashSet<>();
        for (String p : paths) {
            String leaf = p.substring(p.lastIndexOf('.') + 1);
            if (ignored.contains(p) || ignored.contains(leaf)) continue;
            String x = a.get(p), y = b.get(p);
            if (java.util.Objects.equals(x, y)) continue;
            String name = names.getOrDefault(p, names.getOrDefault(leaf, p));
            lines.add(name + ": run " + (x == null ? "(not recorded)" : x) + ", now " + (y == null ? "(none)" : y));
        }
        return new ArrayList<>(lines);
    }

    private static Map<String, String> flatten(JsonObject o) {
        Map<String, String> out = new LinkedHashMap<>();
        flatten("", o, out);
        return out;
    }

    private static void flatten(String prefix, JsonElement e, Map<String, String> out) {
        if (e.isJsonObject()) {
            for (var kv : e.getAsJsonObject().entrySet()) flatten(prefix + kv.getKey() + ".", kv.getValue(), out);
        } else {
            String key = prefix.substring(0, prefix.length() - 1);
            out.put(key, e.isJsonNull() ? "none" : e.isJsonPrimitive() ? e.getAsJsonPrimitive().getAsString() : e.toString());
        }
    }
}
