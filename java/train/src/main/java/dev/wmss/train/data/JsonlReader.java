package dev.wmss.train.data;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads training data as JSON lines: {"prompt": ..., "response": ...} (also "question"/"answer",
 * "input"/"output"), or chat {"messages": [{"role": ..., "content": ...}, ...]} where the last assistant turn is
 * the response and everything before it, rendered as "role: content" lines, the prompt. Blank lines are skipped;
 * anything else that does not parse is an error naming the file and line.
 */
public final class JsonlReader {
    private JsonlReader() {}

    public static final class DataException extends RuntimeException {
        public DataException(String message) {
            super(message);
        }
    }

    public static List<Example> read(Path file) {
        List<Example> out = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String line;
            int n = 0;
            while ((line = in.readLine()) != null) {
                n++;
                if (line.isBlank()) continue;
                out.add(parse(line, file + ":" + n));
            }
        } catch (NoSuchFileException e) {
            throw new DataException("data file not found: " + file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (out.isEmpty()) throw new DataException(file + ": no examples");
        return out;
    }

    static Example parse(String line, String where) {
        JsonElement e;
        try {
            e = JsonParser.parseString(line);
        } catch (JsonParseException ex) {
            throw new DataException(where + ": malformed JSON (" + rootCause(ex) + ")");
        }
        if (!e.isJsonObject()) throw new DataException(where + ": expected a JSON object");
        JsonObject o = e.getAsJsonObject();
        if (o.has("messages")) return chat(o.get("messages"), where);
        for (String[] keys : new String[][]{{"prompt", "response"}, {"question", "answer"}, {"input", "output"}}) {
            if (o.has(keys[0]) && o.has(keys[1])) return new Example(string(o, keys[0], where), string(o, keys[1], where));
        }
        throw new DataException(where + ": needs \"prompt\" and \"response\" (or \"messages\")");
    }

    private static Example chat(JsonElement messages, String where) {
        if (!messages.isJsonArray() || messages.getAsJsonArray().isEmpty()) {
            throw new DataException(where + ": \"messages\" must be a non-empty array");
        }
        JsonArray a = messages.getAsJsonArray();
        JsonObject last = a.get(a.size() - 1).isJsonObject() ? a.get(a.size() - 1).getAsJsonObject() : null;
        if (last == null || !"assistant".equals(string(last, "role", where))) {
            throw new DataException(where + ": the last message must be the assistant's (it is the response)");
        }
        StringBuilder prompt = new StringBuilder();
        for (int i = 0; i < a.size() - 1; i++) {
            JsonObject m = a.get(i).getAsJsonObject();
            prompt.append(string(m, "role", where)).append(": ").append(string(m, "content", where)).append('\n');
        }
        prompt.append("assistant: ");
        return new Example(prompt.toString(), string(last, "content", where));
    }

    private static String string(JsonObject o, String key, String where) {
        JsonElement v = o.get(key);
        if (v == null || !v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
            throw new DataException(where + ": \"" + key + "\" must be a string");
        }
        return v.getAsString();
    }

    private static String rootCause(Throwable t) {
        while (t.getCause() != null) t = t.getCause();
        return t.getMessage();
    }
}
