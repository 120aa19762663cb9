package dev.wmss.train.cli;

import dev.wmss.train.loop.Head;
import dev.wmss.train.plan.MemoryPlan;
import dev.wmss.train.plan.ModelShape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A training run checks its memory plan before it loads a model: one that will not fit is refused, saying what it
 * needs and what would make it fit; --activation-checkpointing auto (the default) turns checkpointing on exactly when
 * the run needs it. The machine's memory is stood in for by a limit of one's own (-Dwmss.memory.limit.gib), set
 * between what the run needs with and without checkpointing. And `plan` says the same from the command line.
 */
class MemoryFitTest {
    static final String MODEL = "{\"model_type\": \"qwen3\", \"vocab_size\": 259, \"hidden_size\": 64, \"intermediate_size\": 128,"
            + " \"num_hidden_layers\": 4, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"head_dim\": 16, \"tie_word_embeddings\": true}";

    static double need(Path m0, boolean ckpt) {
        ModelShape s = ModelShape.of(m0.toString());
        return MemoryPlan.of(new MemoryPlan.Input(s, null, true, 8, 96, false, false, 1, 1, 0, ckpt, Head.FUSED.chunkBytes()))
                .neededWhereItRuns();
    }

    @Test
    void aRunThatWouldNotFitIsRefusedBeforeLoadingAndAutoTurnsCheckpointingOnWhenItMustFit(@TempDir Path tmp) throws Exception {
        Path m0 = Files.createDirectories(tmp.resolve("m0"));
        try (var m = dev.wmss.runtime.TorchModel.init(MODEL, 1)) {
            m.save(m0);
        }
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 16; i++) lines.append("{\"prompt\": \"").append("x".repeat(60)).append(i).append("\", \"response\": \"ok\"}\n");
        Path data = Files.writeString(tmp.resolve("d.jsonl"), lines);
        double off = need(m0, false), on = need(m0, true);
        assertTrue(on < off, "checkpointing needs less: " + on + " vs " + off);
        String[] sft = {"sft", "--model", m0.toString(), "--data", data.toString(), "--batch", "8", "--max-len", "96",
                "--checkpoint-every", "0", "--out", tmp.resolve("a").toString(), "--activation-checkpointing", "off"};
        try {
            System.setProperty("wmss.memory.limit.gib", String.valueOf((on + off) / 2 / (1L << 30)));
            CliRun refused = CliRun.of(sft);
            assertEquals(1, refused.code());
            assertTrue(refused.err().contains("needs") && refused.err().contains("on this machine")
                    && refused.err().contains("it would fit with --activation-checkpointing on"), refused.err());
            assertFalse(Files.exists(tmp.resolve("a")), "refused before anything was loaded or written");
            sft[sft.length - 1] = "auto";
            CliRun auto = CliRun.of(sft);
            assertEquals(0, auto.code(), auto.err());
            assertTrue(Files.readString(tmp.resolve("a/train.json")).contains("\"activation_checkpointing\": true"),
                    "auto turned it on to fit");
            System.setProperty("wmss.memory.limit.gib", String.valueOf(on / 2 / (1L << 30)));
            sft[sft.length - 1] = "on";
            sft[sft.length - 3] = tmp.resolve("b").toString();
            CliRun tooSmall = CliRun.of(sft);
            assertEquals(1, tooSmall.code());
            assertTrue(tooSmall.err().contains("with activation checkpointing"), tooSmall.err());
            System.setProperty("wmss.memory.limit.gib", "0"); // not "no limit": refused (an audit's case)
            sft[sft.length - 3] = tmp.resolve("c").toString();
            CliRun zero = CliRun.of(sft);
            assertEquals(1, zero.code());
            assertTrue(zero.err().contains("-Dwmss.memory.limit.gib must be a number of GiB > 0") && zero.err().contains("got 0"),
                    zero.err());
            assertFalse(Files.exists(tmp.resolve("c")), "refused before anything was written");
        } finally {
            System.clearProperty("wmss.memory.limit.gib");
        }
    }

    /** `run` checks its largest stage (WD-JT: two models) before its first: nothing is trained, then refused. */
    @Test
    void runRefusesAWdJtThatWouldNotFitBeforeTrainingAnything(@TempDir Path tmp) throws Exception {
        Path m0 = Files.createDirectories(tmp.resolve("m0"));
        try (var m = dev.wmss.runtime.TorchModel.init(MODEL, 1)) {
            m.save(m0);
        }
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 16; i++) lines.append("{\"prompt\": \"").append("x".repeat(60)).append(i).append("\", \"response\": \"ok\"}\n");
        Path data = Files.writeString(tmp.resolve("d.jsonl"), lines);
        ModelShape s = ModelShape.of(m0.toString());
        double sft = need(m0, false), wdjt = MemoryPlan.of(new MemoryPlan.Input(s, s, true, 8, 96, false, false, 1, 1, 0, false,
                Head.FUSED.chunkBytes())).neededWhereItRuns();
        assertTrue(sft < wdjt);
        try {
            System.setProperty("wmss.memory.limit.gib", String.valueOf((sft + wdjt) / 2 / (1L << 30)));
            Path out = tmp.resolve("run");
            CliRun refused = CliRun.of("run", "--base", m0.toString(), "--train", data.toString(), "--eval", "none", "--batch",
                    "8", "--max-len", "96", "--out", out.toString(), "--activation-checkpointing", "off");
            assertEquals(1, refused.code(), refused.err());
            assertTrue(refused.err().contains("needs"), refused.err());
            assertFalse(Files.exists(out.resolve("m1")) || Files.exists(out.resolve("run.json")), "nothing trained or written");
        } finally {
            System.clearProperty("wmss.memory.limit.gib");
        }
    }

    @Test
    void planSaysWhatAPapersRunNeedsAndWhatWouldMakeItFit() {
        CliRun one = CliRun.of("plan", "--strong", "qwen3-8b", "--weak", "qwen3-8b", "--max-len", "4096", "--batch", "1",
                "--device", "cuda", "--capacity-gib", "80");
        assertEquals(0, one.code(), one.err());
        assertTrue(one.out().contains("does not fit") && one.out().contains("strong: AdamW moments"), one.out());
        CliRun eight = CliRun.of("plan", "--strong", "qwen3-8b", "--weak", "qwen3-8b", "--max-len", "4096", "--batch", "8",
                "--world-size", "8", "--device", "cuda", "--capacity-gib", "80");
        assertTrue(eight.out().contains("would fit with") && eight.out().contains("ZeRO stage 2 over 8 ranks"), eight.out());
        CliRun json = CliRun.of("plan", "--strong", "qwen3-0.6b", "--weak", "qwen3-0.6b", "--max-len", "1024", "--batch", "8",
                "--device", "cuda", "--json");
        var o = com.google.gson.JsonParser.parseString(json.out()).getAsJsonObject();
        assertTrue(o.get("device_bytes_per_rank").getAsLong() > 40L << 30 && o.has("host_bytes_per_rank"), json.out());
        CliRun bad = CliRun.of("plan", "--strong", "qwen3-8b", "--zero", "4");
        assertEquals(1, bad.code());
        assertTrue(bad.err().contains("--zero must be 0, 1, 2 or 3"), bad.err());
    }
}
