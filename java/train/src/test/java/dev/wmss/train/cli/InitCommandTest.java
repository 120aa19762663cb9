package dev.wmss.train.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.HfTokenizerTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * `init`: a user with a tokenizer and a config (or a preset) gets a base model M0: random weights, vocab_size and the
 * special ids from the tokenizer, the tokenizer's files and a generation config beside it; the model trains at once.
 */
class InitCommandTest {
    @Test
    void aPresetAndATokenizerMakeABaseModelThatTrains(@TempDir Path tmp) throws Exception {
        Path tokDir = HfTokenizerTest.write(Files.createDirectories(tmp.resolve("tok")), true);
        Path m0 = tmp.resolve("m0");
        CliRun r = CliRun.of("init", "--preset", "qwen3-tiny", "--tokenizer", tokDir.toString(), "--out", m0.toString(), "--seed", "3");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("a new model of") && r.out().contains("vocabulary 9"), r.out());
        JsonObject c = JsonParser.parseString(Files.readString(m0.resolve("config.json"))).getAsJsonObject();
        assertEquals(9, c.get("vocab_size").getAsInt(), "from the tokenizer");
        assertEquals(0, c.get("bos_token_id").getAsInt());
        assertEquals(1, c.get("eos_token_id").getAsInt());
        assertEquals(64, c.get("hidden_size").getAsInt());
        for (String f : new String[]{"tokenizer.json", "tokenizer_config.json", "generation_config.json", "model.safetensors"}) {
            assertTrue(Files.isRegularFile(m0.resolve(f)), f);
        }
        try (TorchModel m = TorchModel.load(m0)) {
            assertEquals(9, m.vocab());
        }
        // the seed decides the weights
        Path again = tmp.resolve("again"), other = tmp.resolve("other");
        assertEquals(0, CliRun.of("init", "--preset", "qwen3-tiny", "--tokenizer", tokDir.toString(), "--out", again.toString(),
                "--seed", "3").code());
        assertEquals(0, CliRun.of("init", "--preset", "qwen3-tiny", "--tokenizer", tokDir.toString(), "--out", other.toString(),
                "--seed", "4").code());
        byte[] w = Files.readAllBytes(m0.resolve("model.safetensors"));
        assertArrayEquals(w, Files.readAllBytes(again.resolve("model.safetensors")));
        assertFalse(java.util.Arrays.equals(w, Files.readAllBytes(other.resolve("model.safetensors"))));
        // it trains as a base model, with its own tokenizer found beside it
        Path data = Files.writeString(tmp.resolve("d.jsonl"), "{\"prompt\": \"Q : two plus two is\", \"response\": \"four\"}\n".repeat(4));
        CliRun sft = CliRun.of("sft", "--model", m0.toString(), "--data", data.toString(), "--out", tmp.resolve("m1").toString(),
                "--batch", "2", "--max-len", "32");
        assertEquals(0, sft.code(), sft.err());
        // refused: an --out that holds a model, an unknown preset, a config with a bad field (named)
        assertTrue(CliRun.of("init", "--preset", "qwen3-tiny", "--out", m0.toString()).err().contains("already holds a model"));
        CliRun unknown = CliRun.of("init", "--preset", "qwen9", "--out", tmp.resolve("x").toString());
        assertTrue(unknown.code() == 1 && unknown.err().contains("qwen3-0.6b"), unknown.err());
        Path cfg = Files.writeString(tmp.resolve("c.json"), "{\"model_type\": \"llama\", \"hidden_size\": 16, \"intermediate_size\": 32,"
                + " \"num_hidden_layers\": 1, \"num_attention_heads\": 3}");
        CliRun bad = CliRun.of("init", "--config", cfg.toString(), "--out", tmp.resolve("y").toString());
        assertTrue(bad.code() == 1 && bad.err().contains("hidden_size 16 is not a multiple of num_attention_heads 3"), bad.err());
        assertFalse(Files.exists(tmp.resolve("y")));
        CliRun both = CliRun.of("init", "--config", cfg.toString(), "--preset", "qwen3-tiny", "--out", tmp.resolve("z").toString());
        assertEquals(2, both.code(), "one of --config and --preset: " + both.err());
    }
}
