package dev.wmss.train.plan;

import dev.wmss.kernels.Backend;
import dev.wmss.runtime.TorchModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The memory planner: the parameters it counts are the native model's; its prediction is within 10% of what the
 * project measured (the peak RSS of bench-step on the CPU, run here; the H200's 42.25 GiB for two Qwen3-0.6B-shaped
 * models at 8 x 1024 in bf16, RESULTS); and the paper's setting, two Qwen3-8B at 4096 tokens over 8 ranks, is
 * within the targets once sharded (projections: ZeRO 2 and 3, and ZeRO on CUDA, are not implemented yet).
 */
class MemoryPlanTest {
    static final long MIB = 1L << 20, GIB = 1L << 30;

    static String config(String type, int h, int i, int layers, int heads, int kv, int hd, long vocab, boolean tied) {
        return "{\"model_type\": \"" + type + "\", \"vocab_size\": " + vocab + ", \"hidden_size\": " + h + ", \"intermediate_size\": "
                + i + ", \"num_hidden_layers\": " + layers + ", \"num_attention_heads\": " + heads + ", \"num_key_value_heads\": "
                + kv + ", \"head_dim\": " + hd + ", \"tie_word_embeddings\": " + tied + "}";
    }

    @Test
    void itCountsTheParametersTheNativeModelHas() {
        for (String c : List.of(config("qwen3", 32, 64, 2, 4, 2, 8, 259, true), config("qwen3", 48, 80, 3, 4, 2, 12, 301, false),
                config("llama", 24, 40, 2, 3, 3, 8, 61, true), config("qwen2", 32, 48, 2, 4, 2, 8, 97, false))) {
            try (TorchModel m = TorchModel.init(c, 1)) {
                assertEquals(m.parameterCount(), ModelShape.ofJson("m", c, null).parameters(), c);
            }
        }
    }

    static MemoryPlan gpu(String model, long batch, long seq, int ranks, int zero, boolean ckpt) {
        ModelShape s = ModelShape.of(model);
        return MemoryPlan.of(new MemoryPlan.Input(s, s, true, batch, seq, true, true, ranks, ranks, zero, ckpt, GIB));
    }

    @Test
    void itPredictsTheH200sMeasuredPeakAndThePapersSettingFitsOnceSharded() {
        MemoryPlan h200 = gpu("qwen3-0.6b", 8, 1024, 1, 0, false);
        double slack = h200.parts().stream().filter(p -> p.what().equals("allocator slack")).mapToDouble(MemoryPlan.Part::device).sum();
        double measured = 42.25 * GIB; // bench-step's peak in use on an H200 (RESULTS, "Training on a GPU")
        assertEquals(1.0, (h200.deviceBytesPerRank() - slack) / measured, 0.10, "what is live, against the measured peak");
        // two Qwen3-8B at 1 x 4096 per rank: 8 ranks, checkpointing, ZeRO 2 <= 70 GiB and ZeRO 3 <= 48 GiB per 80 GB GPU
        assertTrue(gpu("qwen3-8b", 1, 4096, 1, 0, false).deviceBytesPerRank() > 300.0 * GIB, "unsharded: beyond any GPU");
        assertTrue(gpu("qwen3-8b", 8, 4096, 8, 2, true).deviceBytesPerRank() <= 70.0 * GIB);
        assertTrue(gpu("qwen3-8b", 8, 4096, 8, 3, true).deviceBytesPerRank() <= 48.0 * GIB);
        List<String> fixes = gpu("qwen3-8b", 8, 4096, 8, 0, false).whatWouldFit(80.0 * GIB);
        assertTrue(fixes.stream().anyMatch(f -> f.startsWith("ZeRO stage 2 over 8 ranks with checkpointing")), fixes.toString());
    }

    /** Training implements ZeRO 1 on the CPU: the planner offers it as an option there, as a projection on CUDA. */
    @Test
    void itOffersZeroOneWhereTrainingImplementsIt() {
        ModelShape s = ModelShape.of("qwen3-0.6b");
        for (boolean cuda : new boolean[]{false, true}) {
            MemoryPlan.Input in = new MemoryPlan.Input(s, s, true, 1, 512, cuda, cuda, 2, 2, 0, false, GIB);
            double whole = MemoryPlan.of(in.withCheckpointing(true)).neededWhereItRuns();
            double sharded = MemoryPlan.of(in.withCheckpointing(true).withZero(1)).neededWhereItRuns();
            assertTrue(sharded < whole, "ZeRO 1 shards the moments");
            List<String> fixes = MemoryPlan.of(in).whatWouldFit((whole + sharded) / 2);
            String want = cuda ? "ZeRO stage 1 over 2 ranks with checkpointing: " : "--zero 1 --activation-checkpointing on (2 ranks): ";
            assertTrue(fixes.size() == 1 && fixes.getFirst().startsWith(want), fixes.toString());
            assertEquals(cuda, fixes.getFirst().endsWith("(not implemented yet on CUDA)"), fixes.toString());
        }
    }

    /** bench-step's peak RSS (a JVM of its own) for two models of a config, both trained, fp32 on the CPU. */
    static long measuredPeak(Path tmp, String config, int batch, int seq, boolean ckpt) throws Exception {
        Path c = Files.writeString(tmp.resolve("c-" + batch + "-" + seq + "-" + ckpt + ".json"), config);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Dwmss.library.path=" + Backend.libraryDirectory(), "-cp",
                System.getProperty("java.class.path"), "dev.wmss.train.cli.Main", "bench-step", "--device", "cpu", "--config",
                c.toString(), "--batch", String.valueOf(batch), "--seq", String.valueOf(seq), "--steps", "2",
                "--activation-checkpointing", ckpt ? "on" : "off"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        String json = out.lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow();
        return com.google.gson.JsonParser.parseString(json).getAsJsonObject().get("peak_bytes").getAsLong();
    }

    @Test
    void itIsWithinTenPercentOfTheMeasuredPeakOnTheCpu(@TempDir Path tmp) throws Exception {
        String small = config("qwen3", 256, 768, 2, 4, 2, 64, 8192, true), deep = config("qwen3", 256, 768, 6, 4, 2, 64, 8192, true);
        Object[][] grid = {{small, 2, 512, false}, {deep, 2, 1024, true}, {deep, 2, 1024, false}};
        for (Object[] g : grid) {
            ModelShape m = ModelShape.ofJson("m", (String) g[0], null);
            MemoryPlan plan = MemoryPlan.of(new MemoryPlan.Input(m, m, true, (int) g[1], (int) g[2], false, false, 1, 1, 0,
                    (boolean) g[3], 320 * MIB));
            long measured = measuredPeak(tmp, (String) g[0], (int) g[1], (int) g[2], (boolean) g[3]);
            double ratio = plan.hostBytesPerRank() / measured;
            assertEquals(1.0, ratio, 0.10, "layers " + m.layers() + ", " + g[1] + " x " + g[2] + ", checkpointing " + g[3]
                    + ": planned " + plan.hostBytesPerRank() / MIB + " MiB, measured " + measured / MIB + " MiB");
        }
    }
}
