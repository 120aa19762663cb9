package dev.wmss.train.data.jinja;

import com.google.gson.JsonElement;
import dev.wmss.train.data.ChatFormat;
import dev.wmss.train.data.ChatTemplate;
import dev.wmss.train.data.Example;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Real chat templates (Qwen3, Llama 3.1, Mistral Nemo: chat-templates/README.md) rendered by this engine, against
 * what Jinja2 renders for the same variables (chat-templates/goldens.json, written by
 * scripts/chat-template-goldens.py with the environment transformers sets up): with and without a system message,
 * with and without tools, the generation prompt on and off, tool calls, reasoning, and the templates' own
 * raise_exception refusals.
 */
class TemplateGoldenTest {
    record Golden(String template, String caseName, Map<String, Object> variables, String rendered, String error) {
        @Override
        public String toString() {
            return template + " " + caseName;
        }
    }

    static Stream<Golden> goldens() throws IOException {
        List<Golden> out = new ArrayList<>();
        for (JsonElement e : JsonParser.parseString(resource("goldens.json")).getAsJsonArray()) {
            JsonObject o = e.getAsJsonObject();
            @SuppressWarnings("unchecked")
            Map<String, Object> vars = (Map<String, Object>) value(o.get("variables"));
            out.add(new Golden(o.get("template").getAsString(), o.get("case").getAsString(), vars,
                    o.has("rendered") ? o.get("rendered").getAsString() : null,
                    o.has("error") ? o.get("error").getAsString() : null));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("goldens")
    void rendersAsJinja2Does(Golden g) throws IOException {
        Template t = Template.parse(resource(g.template()));
        if (g.error() != null) {
            TemplateException e = assertThrows(TemplateException.class, () -> t.render(g.variables()));
            assertEquals(g.error(), e.getMessage());
        } else {
            assertEquals(g.rendered(), t.render(g.variables()));
        }
    }

    /**
     * ChatTemplate, as chat data is rendered for training: its prompt is Jinja2's rendering of the conversation
     * without the answer and with the generation prompt, and prompt + response is the whole conversation's rendering
     * (less a BOS the template writes, which the collator adds as an id, and trailing whitespace). Mistral's template
     * writes the system message into the last user turn only, so the conversation with and without its answer
     * differ before the answer: such a conversation is refused rather than split wrongly.
     */
    @ParameterizedTest(name = "{0} {1}")
    @CsvSource({"qwen3.jinja, nosystem, true", "qwen3.jinja, system, true", "llama3.jinja, nosystem, true",
            "llama3.jinja, system, true", "mistral.jinja, nosystem, true", "mistral.jinja, system, false"})
    void chatTemplateSplitsWhereJinja2RendersTheGenerationPrompt(String template, String system, boolean splits)
            throws IOException {
        Map<String, Golden> byCase = new HashMap<>();
        goldens().filter(g -> g.template().equals(template)).forEach(g -> byCase.put(g.caseName(), g));
        Golden whole = byCase.get(system + "-notools-nogen"), prompt = byCase.get(system + "-notools-gen");
        String bos = (String) whole.variables().get("bos_token"), eos = (String) whole.variables().get("eos_token");
        List<ChatFormat.Message> messages = new ArrayList<>();
        for (Object m : (List<?>) whole.variables().get("messages")) {
            Map<?, ?> o = (Map<?, ?>) m;
            messages.add(new ChatFormat.Message((String) o.get("role"), (String) o.get("content")));
        }
        ChatTemplate chat = new ChatTemplate(resource(template), bos, eos);
        if (!splits) {
            TemplateException e = assertThrows(TemplateException.class, () -> chat.render(messages));
            assertTrue(e.getMessage().contains("cannot be split"), e.getMessage());
            assertTrue(!whole.rendered().startsWith(prompt.rendered()), "Jinja2 renders them differently too");
            return;
        }
        Example ex = chat.render(messages);
        assertEquals(withoutBos(prompt.rendered(), bos), ex.prompt());
        assertEquals(withoutBos(whole.rendered(), bos).stripTrailing(), ex.prompt() + ex.response());
        assertTrue(ex.response().contains("84"), ex.response());
    }

    private static String withoutBos(String s, String bos) {
        return !bos.isEmpty() && s.startsWith(bos) ? s.substring(bos.length()) : s;
    }

    static String resource(String name) throws IOException {
        try (InputStream in = TemplateGoldenTest.class.getResourceAsStream("/chat-templates/" + name)) {
            if (in == null) throw new IOException("no test resource chat-templates/" + name);
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** JSON as the values a caller passes: String, Long, Double, Boolean, null, List, Map (in file order). */
    static Object value(JsonElement e) {
        if (e.isJsonNull()) return null;
        if (e.isJsonArray()) {
            List<Object> l = new ArrayList<>();
            e.getAsJsonArray().forEach(x -> l.add(value(x)));
            return l;
        }
        if (e.isJsonObject()) {
            Map<String, Object> m = new LinkedHashMap<>();
            e.getAsJsonObject().entrySet().forEach(x -> m.put(x.getKey(), value(x.getValue())));
            return m;
        }
        var p = e.getAsJsonPrimitive();
        if (p.isBoolean()) return p.getAsBoolean();
        if (p.isString()) return p.getAsString();
        String n = p.getAsString();
        return n.contains(".") || n.contains("e") || n.contains("E") ? (Object) p.getAsDouble() : (Object) p.getAsLong();
    }
}
