package dev.wmss.train.data;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads training data as JSON lines (UTF-8): {"prompt": ..., "response": ...} (also "question"/"answer",
 * "input"/"output"), or chat {"messages": [{"role": ..., "content": ...}, ...]} whose last (assistant) message is the
 * response, rendered by a {@link ChatFormat} (the tokenizer's chat template). Blank lines are skipped; anything
 * else that does not parse is an error naming the file and line.
 */
public final class JsonlReader {
    private JsonlReader() {}

    public static final class DataException extends RuntimeException {
        public DataException(String message) {
            super(message);
        }
    }

    /** Reads a data file; chat lines are rendered with {@link ChatFormat#PLAIN} (the caller's explicit choice). */
    public static List<Example> read(Path file) {
        return read(file, ChatFormat.PLAIN);
    }

    /**
     * Reads a data file; chat lines are rendered by chat (the tokenizer's template). The file must be UTF-8: a
     * malformed byte sequence is an error naming the file and line.
     */
    public static List<Example> read(Path file, ChatFormat chat) {
        List<Example> out = new ArrayList<>();
        for (Line l : lines(file)) out.add(parse(l.text(), l.where(), chat));
        if (out.isEmpty()) throw new DataException(file + ": no examples");
        return out;
    }

    /** The examples' JSON objects as they are in the file (checked to be examples), e.g. to copy a selection. */
    public static List<JsonObject> readObjects(Path file) {
        List<JsonObject> out = new ArrayList<>();
        for (Line l : lines(file)) {
            parse(l.text(), l.where(), ChatFormat.PLAIN);
            out.add(StrictJson.parse(l.text()).getAsJsonObject());
        }
        if (out.isEmpty()) throw new DataException(file + ": no examples");
        return out;
    }

    private record Line(String text, String where) {}

    /** The non-blank lines, decoded strictly as UTF-8, each with "file:line". */
    private static List<Line> lines(Path file) {
        List<Line> out = new ArrayList<>();
        CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try (InputStream in = new BufferedInputStream(Files.newInputStream(file))) {
            ByteArrayOutputStream line = new ByteArrayOutputStream();
            int n = 0;
            for (int c = in.read(); ; c = in.read()) {
                if (c != '\n' && c != -1) {
                    line.write(c);
                    continue;
                }
                if (c == -1 && line.size() == 0) break;
                n++;
                String text;
                try {
                    text = utf8.decode(ByteBuffer.wrap(line.toByteArray())).toString();
                } catch (CharacterCodingException e) {
                    throw new DataException(file + ":" + n + ": not UTF-8 text (a malformed byte sequence); convert the"
                            + " file to UTF-8");
                }
                line.reset();
                if (n == 1 && text.startsWith("\uFEFF")) text = text.substring(1); // a UTF-8 byte-order mark
                if (!text.isBlank()) out.add(new Line(text, file + ":" + n));
                if (c == -1) break;
            }
        } catch (NoSuchFileException e) {
            throw new DataException("data file not found: " + file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
        return out;
    }

    static Example parse(String line, String where, ChatFormat chatFormat) {
        JsonElement e;
        try {
            e = StrictJson.parse(line);
        } catch (JsonParseException ex) {
            throw new DataException(where + ": malformed JSON (" + rootCause(ex) + ")");
        }
        if (!e.isJsonObject()) throw new DataException(where + ": expected a JSON object");
        JsonObject o = e.getAsJsonObject();
        if (o.has("messages")) return chat(o.get("messages"), where, chatFormat);
        for (String[] keys : new String[][]{{"prompt", "response"}, {"question", "answer"}, {"input", "output"}}) {
            if (o.has(keys[0]) && o.has(keys[1])) return new Example(string(o, keys[0], where), string(o, keys[1], where));
        }
        throw new DataException(where + ": needs \"prompt\" and \"response\" (or \"messages\")");
    }

    private static Example chat(JsonElement messages, String where, ChatFormat format) {
        if (!messages.isJsonArray() || messages.getAsJsonArray().isEmpty()) {
            throw new DataException(where + ": \"messages\" must be a non-empty array");
        }
        List<ChatFormat.Message> list = new ArrayList<>();
        for (JsonElement m : messages.getAsJsonArray()) {
            if (!m.isJsonObject()) throw new DataException(where + ": every message must be an object with role and content");
            list.add(new ChatFormat.Message(string(m.getAsJsonObject(), "role", where),
                    string(m.getAsJsonObject(), "content", where)));
        }
        if (!"assistant".equals(list.getLast().role())) {
            throw new DataException(where + ": the last message must be the assistant's (it is the response)");
        }
        try {
            return format.render(list);
        } catch (DataException e) {
            throw new DataException(where + ": " + e.getMessage());
        } catch (RuntimeException e) {
            throw new DataException(where + ": the chat template failed: " + e.getMessage());
        }
    }

    private static String string(JsonObject o, String key, String where) {
        JsonElement v = o.get(key);
        if (v == null || !v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) {
            throw new DataException(where + ": \"" + key + "\" must be a string");
        }
        return v.getAsString();
    }

    private static String rootCause(Throwable t) {
        return t.getMessage() != null ? t.getMessage() : StrictJson.plain(null);
    }
}
