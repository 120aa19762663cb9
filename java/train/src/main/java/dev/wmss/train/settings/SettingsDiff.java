package dev.wmss.train.settings;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.annotations.SerializedName;

import java.lang.reflect.Field;
import java.lang.reflect.RecordComponent;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * What differs between the settings a run was made with (as recorded: run.json, a checkpoint's state.json) and
 * those of the command that resumes it: one line per field, named by its {@link Setting} ("--lr: run 0.003, now
 * 0.001"), never whole JSON objects. Both sides are compared as the JSON the settings record is written as, field
 * by field (nested records too); a field marked {@link Setting#mayChange()} may differ. Identical lines (one option
 * recorded in two places) are given once.
 */
public final class SettingsDiff {
    private SettingsDiff() {}

    /**
     * was: the recorded JSON; now: the settings record of this command (written with gson, as it was recorded);
     * then: the word for the recorded side ("run", "checkpoint", "experiment").
     */
    public static List<String> of(JsonElement was, Record now, Gson gson, String then) {
        Map<String, String> a = flatten(was), b = flatten(gson.toJsonTree(now));
        Set<String> paths = new LinkedHashSet<>(b.keySet());
        paths.addAll(a.keySet());
        Set<String> lines = new LinkedHashSet<>();
        for (String p : paths) {
            String x = a.get(p), y = b.get(p);
            if (Objects.equals(x, y)) continue;
            Setting s = setting(now.getClass(), p);
            if (s != null && s.mayChange()) continue;
            String name = s != null ? s.value() : p;
            lines.add(name + ": " + then + " " + (x == null ? "(not recorded)" : x) + ", now " + (y == null ? "(none)" : y));
        }
        return new ArrayList<>(lines);
    }

    /** How messages name a record's component: its {@link Setting}, else its own name. */
    public static String name(Class<? extends Record> type, String component) {
        try {
            Setting s = type.getDeclaredField(component).getAnnotation(Setting.class);
            return s != null ? s.value() : component;
        } catch (NoSuchFieldException e) {
            throw new IllegalArgumentException(type.getSimpleName() + " has no component " + component, e);
        }
    }

    /** The annotation of the field at a JSON path ("sft.lr") of a record type, or null. */
    static Setting setting(Class<?> type, String path) {
        Class<?> t = type;
        Field f = null;
        for (String name : path.split("\\.")) {
            if (t == null || !t.isRecord()) return null;
            f = field(t, name);
            if (f == null) return null;
            t = f.getType();
        }
        return f == null ? null : f.getAnnotation(Setting.class);
    }

    /** The record component written under a JSON name (its @SerializedName, else its own name). */
    private static Field field(Class<?> record, String jsonName) {
        for (RecordComponent c : record.getRecordComponents()) {
            try {
                Field f = record.getDeclaredField(c.getName());
                SerializedName n = f.getAnnotation(SerializedName.class);
                if (jsonName.equals(n != null ? n.value() : c.getName())) return f;
            } catch (NoSuchFieldException e) {
                throw new IllegalStateException(e);
            }
        }
        return null;
    }

    /** path -> value as text; an array of values as "[a, b]" (as Java prints a list). */
    static Map<String, String> flatten(JsonElement e) {
        Map<String, String> out = new LinkedHashMap<>();
        if (e != null && e.isJsonObject()) flatten("", e.getAsJsonObject(), out);
        return out;
    }

    private static void flatten(String prefix, JsonObject o, Map<String, String> out) {
        for (var kv : o.entrySet()) {
            String key = prefix + kv.getKey();
            JsonElement v = kv.getValue();
            if (v.isJsonObject()) flatten(key + ".", v.getAsJsonObject(), out);
            else out.put(key, text(v));
        }
    }

    private static String text(JsonElement v) {
        if (v.isJsonNull()) return "none";
        if (v.isJsonPrimitive()) return v.getAsJsonPrimitive().getAsString();
        if (v.isJsonArray()) {
            List<String> items = new ArrayList<>();
            for (JsonElement x : v.getAsJsonArray()) items.add(text(x));
            return "[" + String.join(", ", items) + "]";
        }
        return v.toString();
    }
}
