package dev.wmss.train.plan;

import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import dev.wmss.runtime.TorchModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The planner reads config.json as the native loader does (ModelConfig::parse): every size it uses is required, an
 * integer and at least the loader's minimum; num_key_value_heads and head_dim default exactly as the loader's do, and a
 * config the loader refuses is refused, naming the field and the file. An audit's case: a config without
 * num_hidden_layers was planned as "-1 layers" (32.88 GiB where the whole model needs 332.60 GiB).
 */
class ModelShapeTest {
    static JsonObject base() {
        JsonObject o = new JsonObject();
        o.addProperty("model_type", "qwen3");
        o.addProperty("vocab_size", 259);
        o.addProperty("hidden_size", 64);
        o.addProperty("intermediate_size", 128);
        o.addProperty("num_hidden_layers", 2);
        o.addProperty("num_attention_heads", 4);
        o.addProperty("num_key_value_heads", 2);
        o.addProperty("head_dim", 16);
        o.addProperty("tie_word_embeddings", true);
        return o;
    }

    static String with(Consumer<JsonObject> edit) {
        JsonObject o = base();
        edit.accept(o);
        return o.toString();
    }

    static String refusal(String json) {
        return assertThrows(IllegalArgumentException.class, () -> ModelShape.ofJson("cfg.json", json, null)).getMessage();
    }

    /** The native loader refuses it too: the planner is not stricter than training, nor more lenient. */
    static void nativeRefuses(String json) {
        assertThrows(RuntimeException.class, () -> TorchModel.init(json, 1).close(), json);
    }

    @Test
    void everySizeItUsesIsRequiredAndNamedWithTheFile(@TempDir Path tmp) throws Exception {
        for (String k : List.of("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads")) {
            String json = with(o -> o.remove(k));
            assertEquals("cfg.json: missing \"" + k + "\"", refusal(json));
            nativeRefuses(json);
        }
        Path dir = Files.createDirectories(tmp.resolve("m"));
        Files.writeString(dir.resolve("config.json"), with(o -> o.remove("num_hidden_layers")));
        var e = assertThrows(IllegalArgumentException.class, () -> ModelShape.of(dir.toString()));
        assertEquals(dir.resolve("config.json") + ": missing \"num_hidden_layers\"", e.getMessage());
        assertEquals(151936L, ModelShape.of("qwen3-8b").vocab(), "a preset's vocabulary stands in for vocab_size");
    }

    @Test
    void sizesMustBeIntegersAtLeastTheLoadersMinimum() {
        Object[][] bad = {{"hidden_size", 0, ">= 1, got 0"}, {"hidden_size", -64, ">= 1, got -64"},
                {"intermediate_size", 0, ">= 1"}, {"vocab_size", -1, ">= 1"}, {"num_hidden_layers", -1, ">= 0, got -1"},
                {"num_attention_heads", 0, ">= 1"}, {"num_key_value_heads", 0, ">= 1"}, {"head_dim", 0, ">= 2"},
                {"hidden_size", 64.5, "must be an integer, got 64.5"}, {"num_hidden_layers", "2", "must be an integer, got \"2\""},
                {"num_hidden_layers", 2.0, "must be an integer, got 2.0"}, {"num_hidden_layers", 1e30, "must be an integer"}};
        for (Object[] b : bad) {
            String json = with(o -> o.add((String) b[0], b[1] instanceof String s ? new JsonPrimitive(s)
                    : new JsonPrimitive((Number) b[1])));
            String m = refusal(json);
            assertTrue(m.startsWith("cfg.json: " + b[0]) && m.contains((String) b[2]), m);
            nativeRefuses(json);
        }
        for (String k : List.of("hidden_size", "num_hidden_layers")) {
            String json = with(o -> o.add(k, JsonNull.INSTANCE));
            assertTrue(refusal(json).contains(k + " must be an integer, got null"), refusal(json));
            nativeRefuses(json);
        }
    }

    @Test
    void optionalFieldsDefaultAsTheLoadersDoAndNothingMore() {
        ModelShape s = ModelShape.ofJson("m", with(o -> {
            o.remove("num_key_value_heads");
            o.remove("head_dim");
        }), null);
        assertEquals(4, s.kvHeads(), "num_key_value_heads: num_attention_heads");
        assertEquals(16, s.headDim(), "head_dim: hidden_size / num_attention_heads");
        ModelShape nulls = ModelShape.ofJson("m", with(o -> {
            o.add("num_key_value_heads", JsonNull.INSTANCE);
            o.add("head_dim", JsonNull.INSTANCE);
        }), null);
        assertEquals(s, nulls, "null is absent");
        String[][] bad = {{"num_attention_heads 4 is not a multiple of num_key_value_heads 3"},
                {"hidden_size 66 is not a multiple of num_attention_heads 4 and no head_dim is given"},
                {"head_dim must be even and >= 2"}, {"model_type \"gpt2\" is not supported"}, {"tie_word_embeddings must be"}};
        List<String> configs = List.of(with(o -> o.addProperty("num_key_value_heads", 3)), with(o -> {
            o.addProperty("hidden_size", 66);
            o.remove("head_dim");
        }), with(o -> o.addProperty("head_dim", 15)), with(o -> o.addProperty("model_type", "gpt2")),
                with(o -> o.addProperty("tie_word_embeddings", "yes")));
        for (int i = 0; i < bad.length; i++) {
            String m = refusal(configs.get(i));
            assertTrue(m.startsWith("cfg.json: ") && m.contains(bad[i][0]), m);
            nativeRefuses(configs.get(i));
        }
        // what the loader accepts, the planner accepts, with the loader's parameter count
        for (String ok : List.of(with(o -> o.remove("model_type")), with(o -> o.addProperty("num_hidden_layers", 0)),
                with(o -> o.remove("tie_word_embeddings")), with(o -> { o.remove("head_dim"); o.remove("num_key_value_heads"); }))) {
            try (TorchModel m = TorchModel.init(ok, 1)) {
                assertEquals(m.parameterCount(), ModelShape.ofJson("m", ok, null).parameters(), ok);
            }
        }
    }

    @Test
    void malformedJsonAndSizesBeyondCountingNameTheFile() {
        assertTrue(refusal("{\"hidden_size\": 64,").startsWith("cfg.json: "), refusal("{\"hidden_size\": 64,"));
        assertTrue(refusal("[1]").startsWith("cfg.json: "), refusal("[1]"));
        String huge = with(o -> o.addProperty("intermediate_size", Long.MAX_VALUE / 2));
        assertTrue(refusal(huge).contains("more parameters than can be counted"), refusal(huge));
        nativeRefuses(huge);
    }
}
