package dev.wmss.train.plan;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import dev.wmss.train.data.StrictJson;

import java.math.BigInteger;
import java.util.regex.Pattern;

/**
 * A config.json's fields as the native loader reads them (native/torch/model.cpp, ModelConfig::parse): a required size
 * must be there ({@code missing "k"}), an integer literal (not 2.0, "2" or null) and at least its minimum; an optional
 * one may be absent or null. Every refusal starts with where the config is from.
 */
final class ConfigFields {
    private static final Pattern INTEGER = Pattern.compile("-?\\d+");

    private final JsonObject o;
    private final String where;

    private ConfigFields(JsonObject o, String where) {
        this.o = o;
        this.where = where;
    }

    static ConfigFields parse(String json, String where) {
        JsonElement e;
        try {
            e = StrictJson.parse(json);
        } catch (JsonParseException bad) {
            throw new IllegalArgumentException(where + ": malformed JSON: " + bad.getMessage(), bad);
        }
        if (!e.isJsonObject()) throw new IllegalArgumentException(where + ": a config.json is a JSON object, got " + e);
        return new ConfigFields(e.getAsJsonObject(), where);
    }

    String where() {
        return where;
    }

    IllegalArgumentException refuse(String why) {
        return new IllegalArgumentException(where + ": " + why);
    }

    boolean present(String k) {
        return o.has(k) && !o.get(k).isJsonNull();
    }

    long size(String k, long min) {
        if (!o.has(k)) throw refuse("missing \"" + k + "\"");
        JsonElement v = o.get(k);
        boolean number = v.isJsonPrimitive() && v.getAsJsonPrimitive().isNumber();
        String text = number ? v.getAsString() : v.toString();
        if (!number || !INTEGER.matcher(text).matches() || new BigInteger(text).bitLength() > 63) {
            throw refuse(k + " must be an integer, got " + text);
        }
        long x = Long.parseLong(text);
        if (x < min) throw refuse(k + " must be >= " + min + ", got " + x);
        return x;
    }

    long optionalSize(String k, long min, long fallback) {
        return present(k) ? size(k, min) : fallback;
    }

    boolean bool(String k, boolean fallback) {
        if (!o.has(k)) return fallback;
        JsonElement v = o.get(k);
        if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isBoolean()) throw refuse(k + " must be true or false, got " + v);
        return v.getAsBoolean();
    }

    String string(String k, String fallback) {
        if (!o.has(k)) return fallback;
        JsonElement v = o.get(k);
        if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) throw refuse(k + " must be a string, got " + v);
        return v.getAsString();
    }
}
