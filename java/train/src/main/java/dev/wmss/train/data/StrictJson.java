package dev.wmss.train.data;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonPrimitive;
import com.google.gson.Strictness;
import com.google.gson.internal.LazilyParsedNumber;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import com.google.gson.stream.MalformedJsonException;

import java.io.IOException;
import java.io.StringReader;

/**
 * JSON text to a tree, as Gson's JsonParser reads it, but refusing a key given twice in one object (Gson keeps the
 * last one silently, so {"prompt": "a", "prompt": "b"} would train on "b" without a word), and with Gson's advice for
 * its own API ("use JsonReader.setStrictness(Strictness.LENIENT)") cut from the messages: what is wrong in the text
 * and where is what a user can act on.
 */
public final class StrictJson {
    private StrictJson() {}

    public static JsonElement parse(String text) {
        try (JsonReader r = new JsonReader(new StringReader(text))) {
            r.setStrictness(Strictness.LEGACY_STRICT);
            JsonElement e = read(r);
            if (r.peek() != JsonToken.END_DOCUMENT) throw new JsonParseException("text after the JSON value at " + where(r));
            return e;
        } catch (MalformedJsonException | java.io.EOFException e) {
            throw new JsonParseException(plain(e.getMessage()), e);
        } catch (IllegalStateException | NumberFormatException e) {
            throw new JsonParseException(plain(e.getMessage()), e);
        } catch (IOException e) {
            throw new JsonParseException(plain(e.getMessage()), e);
        }
    }

    private static JsonElement read(JsonReader r) throws IOException {
        switch (r.peek()) {
            case BEGIN_OBJECT -> {
                JsonObject o = new JsonObject();
                r.beginObject();
                while (r.hasNext()) {
                    String at = where(r), name = r.nextName();
                    if (o.has(name)) throw new JsonParseException("the key \"" + name + "\" appears twice in one object (at " + at + ")");
                    o.add(name, read(r));
                }
                r.endObject();
                return o;
            }
            case BEGIN_ARRAY -> {
                JsonArray a = new JsonArray();
                r.beginArray();
                while (r.hasNext()) a.add(read(r));
                r.endArray();
                return a;
            }
            case STRING -> {
                return new JsonPrimitive(r.nextString());
            }
            case NUMBER -> {
                return new JsonPrimitive(new LazilyParsedNumber(r.nextString()));
            }
            case BOOLEAN -> {
                return new JsonPrimitive(r.nextBoolean());
            }
            case NULL -> {
                r.nextNull();
                return JsonNull.INSTANCE;
            }
            default -> throw new JsonParseException("expected a JSON value at " + where(r));
        }
    }

    private static String where(JsonReader r) {
        String s = r.toString(); // "JsonReader at line 1 column 9 path $.a"
        int i = s.indexOf(" at ");
        return i >= 0 ? s.substring(i + 4) : s;
    }

    /** Gson's message without its advice about its own API and its troubleshooting link. */
    static String plain(String message) {
        if (message == null) return "unreadable JSON";
        String m = message.replaceAll("Use JsonReader\\.set(Strictness\\(Strictness\\.LENIENT\\)|Lenient\\(true\\)) to accept "
                + "malformed JSON", "malformed JSON");
        for (String cut : new String[]{"\nSee https://", " See https://"}) {
            int i = m.indexOf(cut);
            if (i >= 0) m = m.substring(0, i);
        }
        return m.strip().replaceAll("[;,]$", "");
    }
}
