package dev.wmss.train.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.HfTokenizerTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Every model written for a user is a complete Hugging Face directory (an audit: an export kept a foreign
 * tokenizer.json, config.json lost the base's bos/eos ids and rope fields, no generation config, a stray stage.json
 * in run's final/): the base's config.json field by field with only the dtype changed, the tokenizer's files (a foreign
 * one already in --out removed), generation_config.json (the base's, or eos from the tokenizer), nothing else.
 */
class HfCompleteTest {
    /** A base whose config.json has fields this project does not read, and a tokenizer and generation config of its own. */
    static Path base(Path dir) throws Exception {
        Path m = HfTokenizerTest.write(RunCommandTest.model(dir, 1), true);
        JsonObject c = JsonParser.parseString(Files.readString(m.resolve("config.json"))).getAsJsonObject();
        c.addProperty("bos_token_id", 0);
        c.addProperty("eos_token_id", 1);
        c.addProperty("sliding_window", (String) null);
        c.addProperty("use_cache", true);
        c.addProperty("transformers_version", "4.51.0");
        JsonObject scaling = new JsonObject();
        scaling.addProperty("rope_type", "default");
        c.add("rope_scaling", scaling);
        Files.writeString(m.resolve("config.json"), c.toString());
        return m;
    }

    static JsonObject config(Path dir) throws Exception {
        return JsonParser.parseString(Files.readString(dir.resolve("config.json"))).getAsJsonObject();
    }

    /** Every field of the base's config.json is in the saved one with the same value, but the dtype. */
    static void keepsEveryField(JsonObject base, JsonObject saved, String dtype, String what) {
        for (var e : base.entrySet()) {
            if (e.getKey().equals("torch_dtype")) continue;
            assertEquals(e.getValue(), saved.get(e.getKey()), what + ": " + e.getKey());
        }
        assertEquals(dtype, saved.get("torch_dtype").getAsString(), what);
    }

    @Test
    void exportKeepsTheBaseConfigAndCarriesTokenizerAndGenerationConfig(@TempDir Path tmp) throws Exception {
        Path m = base(tmp.resolve("m"));
        JsonObject cfg = config(m);
        Path out = Files.createDirectories(tmp.resolve("out"));
        Files.writeString(out.resolve("tokenizer.json"), "{\"foreign\": true}");
        Files.writeString(out.resolve("merges.txt"), "a b");
        CliRun x = CliRun.of("export", "--model", m.toString(), "--out", out.toString());
        assertEquals(0, x.code(), x.err());
        keepsEveryField(cfg, config(out), "bfloat16", "export");
        assertEquals(Files.readString(m.resolve("tokenizer.json")), Files.readString(out.resolve("tokenizer.json")),
                "the model's tokenizer replaces a foreign one");
        assertFalse(Files.exists(out.resolve("merges.txt")), "a foreign tokenizer's file is not kept");
        JsonObject gen = JsonParser.parseString(Files.readString(out.resolve("generation_config.json"))).getAsJsonObject();
        assertEquals(1, gen.get("eos_token_id").getAsInt(), "eos from the tokenizer: " + gen);
        // loads with the project's own loader, and saves again with every field
        try (TorchModel loaded = TorchModel.load(out)) {
            loaded.save(tmp.resolve("again"));
        }
        keepsEveryField(cfg, config(tmp.resolve("again")), "float32", "saved again");
        // a base's own generation_config.json is carried as it is
        Files.writeString(m.resolve("generation_config.json"), "{\"eos_token_id\": [1, 2], \"temperature\": 0.6}\n");
        assertEquals(0, CliRun.of("export", "--model", m.toString(), "--out", out.toString()).code());
        assertEquals(Files.readString(m.resolve("generation_config.json")), Files.readString(out.resolve("generation_config.json")));
    }

    @Test
    void runsModelsAreCompleteAndFinalHoldsTheModelAlone(@TempDir Path tmp) throws Exception {
        Path m0 = base(tmp.resolve("m0"));
        JsonObject cfg = config(m0);
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 8; i++) lines.append("{\"prompt\": \"Q : two plus two is\", \"response\": \"four\"}\n");
        Path data = Files.writeString(tmp.resolve("d.jsonl"), lines), out = tmp.resolve("run");
        CliRun r = CliRun.of("run", "--base", m0.toString(), "--train", data.toString(), "--out", out.toString(),
                "--batch", "4", "--selection", "NONE", "--eval", "none", "--checkpoint-every", "1");
        assertEquals(0, r.code(), r.err());
        for (String stage : List.of("m1", "control", "wdjt")) { // done and vouched for: its checkpoints pruned
            assertFalse(Files.exists(out.resolve(stage).resolve("checkpoints")), stage);
        }
        Path kept = tmp.resolve("kept");
        assertEquals(0, CliRun.of("run", "--base", m0.toString(), "--train", data.toString(), "--out", kept.toString(),
                "--batch", "4", "--selection", "NONE", "--eval", "none", "--checkpoint-every", "1",
                "--keep-stage-checkpoints").code());
        assertTrue(Files.isDirectory(kept.resolve("m1/checkpoints")), "--keep-stage-checkpoints keeps them");
        for (String dir : List.of("final", "m1/strong", "control/strong", "wdjt/strong", "wdjt/weak")) {
            Path d = out.resolve(dir);
            keepsEveryField(cfg, config(d), dir.equals("final") ? "bfloat16" : "float32", dir);
            for (String f : List.of("tokenizer.json", "tokenizer_config.json", "generation_config.json")) {
                assertTrue(Files.isRegularFile(d.resolve(f)), dir + " lacks " + f);
            }
        }
        try (var s = Files.list(out.resolve("final"))) {
            List<String> files = s.map(p -> p.getFileName().toString()).sorted().toList();
            assertEquals(List.of("config.json", "generation_config.json", "model.safetensors", "tokenizer.json",
                    "tokenizer_config.json"), files, "the final model's directory holds the model alone");
        }
    }
}
