package dev.wmss.runtime;

import dev.wmss.kernels.DType;
import dev.wmss.kernels.Logits;
import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.CeMixArgs;
import dev.wmss.kernels.error.ShapeMismatchException;
import dev.wmss.kernels.error.WmssException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The libtorch model layer: forward against logits computed by Debian's python3-torch 1.13 from the same
 * safetensors (scripts/make-tiny-models.py, an independent implementation), checkpoint round trips and errors,
 * a finite-difference gradient check, and WD-JT joint training of two models through the fused kernel.
 */
class TorchModelTest {
    static final String TINY = """
            {"model_type": "qwen3", "vocab_size": 50, "hidden_size": 32, "intermediate_size": 64,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
             "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": false}""";

    static Path model(String name) throws URISyntaxException {
        return Path.of(TorchModelTest.class.getResource("/models/" + name + "/config.json").toURI()).getParent();
    }

    /** The numbers of one top-level JSON array field (flattened). */
    static double[] numbers(String json, String field) {
        int start = json.indexOf("\"" + field + "\"");
        int open = json.indexOf('[', start), depth = 0, end = open;
        for (; end < json.length(); end++) {
            if (json.charAt(end) == '[') depth++;
            if (json.charAt(end) == ']' && --depth == 0) break;
        }
        return Arrays.stream(json.substring(open, end).split("[^0-9eE.+-]+")).filter(s -> !s.isEmpty())
                .mapToDouble(Double::parseDouble).toArray();
    }

    static MemorySegment longs(Arena arena, double[] v) {
        MemorySegment s = arena.allocate(8L * v.length, 8);
        for (int i = 0; i < v.length; i++) s.setAtIndex(ValueLayout.JAVA_LONG, i, (long) v[i]);
        return s;
    }

    @Test
    void backwardNeedsAForwardWithGradOfTheSameRows() {
        try (Arena arena = Arena.ofConfined(); TorchModel m = TorchModel.init(TINY, 1)) {
            MemorySegment ids = arena.allocate(8L * 6);
            Logits.Host g = Logits.allocate(arena, DType.F32, 6, m.vocab());
            assertThrows(IllegalStateException.class, () -> m.backward(g), "no forward yet");
            m.forward(ids, null, 2, 3, true);
            Logits.Host small = Logits.allocate(arena, DType.F32, 4, m.vocab());
            ShapeMismatchException e = assertThrows(ShapeMismatchException.class, () -> m.backward(small));
            assertTrue(e.getMessage().contains("last forward produced 6"), e.getMessage());
            m.forward(ids, null, 2, 3, false);
            assertThrows(IllegalStateException.class, () -> m.backward(g), "that forward kept no graph");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"tiny-qwen3", "tiny-llama"})
    void forwardMatchesPythonTorch(String name) throws Exception {
        String expected = Files.readString(model(name).resolve("expected.json"));
        double[] ids = numbers(expected, "ids"), mask = numbers(expected, "mask"), ref = numbers(expected, "logits");
        try (Arena arena = Arena.ofConfined(); TorchModel m = TorchModel.load(model(name))) {
            Logits.Host z = m.forward(longs(arena, ids), longs(arena, mask), 2, ids.length / 2, false);
            assertEquals(ref.length, z.rows() * z.vocab());
            for (int i = 0; i < ref.length; i++) {
                float got = z.get(i / z.vocab(), i % z.vocab());
                assertEquals(ref[i], got, 2e-4 + 1e-4 * Math.abs(ref[i]), name + " logit " + i);
            }
        }
    }

    @Test
    void saveThenLoadIsBitExact(@TempDir Path tmp) throws Exception {
        try (Arena arena = Arena.ofConfined(); TorchModel a = TorchModel.load(model("tiny-llama"))) {
            MemorySegment ids = longs(arena, new double[]{1, 5, 9, 33, 60, 0});
            float[] before = a.forward(ids, null, 1, 6, false).data().toArray(ValueLayout.JAVA_FLOAT);
            a.save(tmp.resolve("one"));
            try (TorchModel b = TorchModel.load(tmp.resolve("one"))) {
                assertArrayEquals(before, b.forward(ids, null, 1, 6, false).data().toArray(ValueLayout.JAVA_FLOAT));
                b.save(tmp.resolve("two"));
            }
            assertArrayEquals(Files.readAllBytes(tmp.resolve("one/model.safetensors")),
                    Files.readAllBytes(tmp.resolve("two/model.safetensors")));
            assertFalse(Files.exists(tmp.resolve("one/model.safetensors.tmp")));
        }
    }

    @Test
    void shardedAndBf16CheckpointsRoundTrip(@TempDir Path tmp) throws Exception {
        try (Arena arena = Arena.ofConfined(); TorchModel a = TorchModel.load(model("tiny-qwen3"))) {
            MemorySegment ids = longs(arena, new double[]{4, 8, 15, 16, 23, 42});
            float[] ref = a.forward(ids, null, 1, 6, false).data().toArray(ValueLayout.JAVA_FLOAT);
            a.save(tmp.resolve("sharded"), DType.F32, 20_000);
            try (var files = Files.list(tmp.resolve("sharded"))) {
                assertTrue(files.filter(f -> f.getFileName().toString().matches("model-\\d{5}-of-\\d{5}\\.safetensors")).count() > 2);
            }
            assertTrue(Files.exists(tmp.resolve("sharded/model.safetensors.index.json")));
            try (TorchModel b = TorchModel.load(tmp.resolve("sharded"))) {
                assertArrayEquals(ref, b.forward(ids, null, 1, 6, false).data().toArray(ValueLayout.JAVA_FLOAT));
            }
            a.save(tmp.resolve("bf16"), DType.BF16, 0);
            // config.json names the dtype the weights are in (Hugging Face loads by it); fp32 saves say float32
            assertTrue(Files.readString(tmp.resolve("bf16/config.json")).contains("\"torch_dtype\": \"bfloat16\""));
            assertTrue(Files.readString(tmp.resolve("sharded/config.json")).contains("\"torch_dtype\": \"float32\""));
            assertTrue(Files.size(tmp.resolve("bf16/model.safetensors")) < Files.size(model("tiny-qwen3").resolve("model.safetensors")) / 2 + 4096);
            try (TorchModel c = TorchModel.load(tmp.resolve("bf16"))) {
                float[] got = c.forward(ids, null, 1, 6, false).data().toArray(ValueLayout.JAVA_FLOAT);
                for (int i = 0; i < ref.length; i++) assertEquals(ref[i], got[i], 0.05 + 0.02 * Math.abs(ref[i]), "logit " + i);
            }
        }
    }

    @Test
    void frozenModelsKeepTheirWeightsAndGradientsAccumulate() {
        int b = 2, t = 4;
        try (Arena arena = Arena.ofConfined(); TorchModel m = TorchModel.init(TINY, 5)) {
            MemorySegment ids = longs(arena, new double[]{1, 2, 3, 4, 5, 6, 7, 8});
            MemorySegment labels = longs(arena, new double[]{2, 3, 4, 5, 6, 7, 8, 9});
            Logits g = Logits.allocate(arena, DType.F32, b * t, 50);
            MemorySegment[] p = m.parameter("model.layers.1.mlp.down_proj.weight");
            loss(m, ids, labels, b, t, g);
            float[] once = p[1].toArray(ValueLayout.JAVA_FLOAT);
            loss(m, ids, labels, b, t, g); // a second micro-batch accumulates
            float[] twice = p[1].toArray(ValueLayout.JAVA_FLOAT);
            for (int i = 0; i < once.length; i += 97) assertEquals(2 * once[i], twice[i], 1e-6 + 1e-4 * Math.abs(once[i]));
            m.adamW(1e-2, 0.9, 0.999, 1e-8, 0.1);
            float[] before = p[0].toArray(ValueLayout.JAVA_FLOAT);
            m.setTrainable(false);
            m.step(1e-2, 1.0);
            assertArrayEquals(before, p[0].toArray(ValueLayout.JAVA_FLOAT), "a frozen model does not move");
            m.setTrainable(true);
            loss(m, ids, labels, b, t, g);
            m.step(1e-2, 1.0);
            assertFalse(Arrays.equals(before, p[0].toArray(ValueLayout.JAVA_FLOAT)));
        }
    }

    @Test
    void badCheckpointsNameTheProblem(@TempDir Path tmp) throws Exception {
        WmssException e = assertThrows(WmssException.class, () -> TorchModel.load(tmp.resolve("nothing")));
        assertTrue(e.getMessage().contains("is not a directory"), e.getMessage());

        Path wrong = Files.createDirectories(tmp.resolve("wrong-size"));
        Files.copy(model("tiny-qwen3").resolve("model.safetensors"), wrong.resolve("model.safetensors"));
        Files.writeString(wrong.resolve("config.json"), Files.readString(model("tiny-qwen3").resolve("config.json"))
                .replace("\"intermediate_size\": 48", "\"intermediate_size\": 40"));
        ShapeMismatchException s = assertThrows(ShapeMismatchException.class, () -> TorchModel.load(wrong));
        assertTrue(s.getMessage().contains("mlp.") && s.getMessage().contains("shape"), s.getMessage());

        Path untied = Files.createDirectories(tmp.resolve("missing"));
        Files.copy(model("tiny-llama").resolve("model.safetensors"), untied.resolve("model.safetensors"));
        Files.writeString(untied.resolve("config.json"), Files.readString(model("tiny-llama").resolve("config.json"))
                .replace("\"tie_word_embeddings\": true", "\"tie_word_embeddings\": false"));
        e = assertThrows(WmssException.class, () -> TorchModel.load(untied));
        assertTrue(e.getMessage().contains("lacks tensor lm_head.weight"), e.getMessage());

        Path broken = Files.createDirectories(tmp.resolve("broken"));
        Files.writeString(broken.resolve("config.json"), "{\"vocab_size\": 5,");
        e = assertThrows(WmssException.class, () -> TorchModel.load(broken));
        assertTrue(e.getMessage().contains("malformed JSON"), e.getMessage());

        Files.writeString(broken.resolve("config.json"), TINY);
        Files.write(broken.resolve("model.safetensors"), new byte[]{1, 2, 3});
        e = assertThrows(WmssException.class, () -> TorchModel.load(broken));
        assertTrue(e.getMessage().contains("not a safetensors file"), e.getMessage());
    }

    @Test
    void integerWeightsAreRefusedNamingTensorAndDtype(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("i32"));
        try (TorchModel m = TorchModel.init(TINY, 1)) {
            m.save(dir);
        }
        // I32 has F32's width: the offsets stay consistent, only the dtype lies about what the bytes are
        byte[] file = Files.readAllBytes(dir.resolve("model.safetensors"));
        String header = new String(file, 8, (int) java.nio.ByteBuffer.wrap(file, 0, 8)
                .order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong(), java.nio.charset.StandardCharsets.ISO_8859_1);
        String name = "model.layers.0.mlp.down_proj.weight";
        int at = header.indexOf("\"dtype\":\"F32\"", header.indexOf(name));
        byte[] patched = "\"dtype\":\"I32\"".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        System.arraycopy(patched, 0, file, 8 + at, patched.length);
        Files.write(dir.resolve("model.safetensors"), file);
        WmssException e = assertThrows(WmssException.class, () -> TorchModel.load(dir));
        assertTrue(e.getMessage().contains(name) && e.getMessage().contains("I32")
                && e.getMessage().contains("F32, BF16 or F16"), e.getMessage());
    }

    @Test
    void configSizesAreCheckedBeforeAnythingIsAllocated(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("m"));
        try (TorchModel m = TorchModel.init(TINY, 1)) {
            m.save(dir);
        }
        String cfg = Files.readString(dir.resolve("config.json"));
        // a million layers against a checkpoint of two: refused from the tensor index, at once
        Files.writeString(dir.resolve("config.json"), cfg.replaceAll("\"num_hidden_layers\": *2", "\"num_hidden_layers\": 1000000"));
        long t0 = System.nanoTime();
        WmssException e = assertThrows(WmssException.class, () -> TorchModel.load(dir));
        assertTrue(e.getMessage().contains("num_hidden_layers is 1000000") && e.getMessage().contains("holds 2 layers"),
                e.getMessage());
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "the check must not allocate the layers first");
        // without a checkpoint (init), the memory it would need is named instead
        String huge = TINY.replace("\"hidden_size\": 32", "\"hidden_size\": 4096")
                .replace("\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1000000");
        e = assertThrows(WmssException.class, () -> TorchModel.init(huge, 1));
        assertTrue(e.getMessage().matches("(?s).*needs [0-9.]+ GiB of memory, but only [0-9.]+ GiB is available.*"),
                e.getMessage());
        // sizes are named one by one
        for (String[] c : new String[][]{{"\"hidden_size\": 32", "\"hidden_size\": 0", "hidden_size must be >= 1, got 0"},
                {"\"vocab_size\": 50", "\"vocab_size\": \"50\"", "vocab_size must be an integer"},
                {"\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3", "not a multiple of num_key_value_heads 3"},
                {"\"head_dim\": 8", "\"head_dim\": 7", "head_dim must be even"}}) {
            e = assertThrows(WmssException.class, () -> TorchModel.init(TINY.replace(c[0], c[1]), 1), c[1]);
            assertTrue(e.getMessage().contains(c[2]), e.getMessage());
        }
        // a mis-sized embedding names the config fields
        Files.writeString(dir.resolve("config.json"), cfg.replaceAll("\"vocab_size\": *50", "\"vocab_size\": 60"));
        e = assertThrows(WmssException.class, () -> TorchModel.load(dir));
        assertTrue(e.getMessage().contains("vocab_size 60") && e.getMessage().contains("embed_tokens"), e.getMessage());
    }

    @Test
    void unsupportedConfigsAreRefusedNotApproximated() {
        for (String extra : new String[]{"\"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}",
                "\"use_sliding_window\": true", "\"hidden_act\": \"gelu\"", "\"model_type\": \"gpt2\""}) {
            String cfg = TINY.replace("\"model_type\": \"qwen3\",", "").replaceFirst("\\{", "{" + extra + ",");
            WmssException e = assertThrows(WmssException.class, () -> TorchModel.init(cfg, 1), extra);
            assertTrue(e.getMessage().contains("not supported") || e.getMessage().contains("must be"), e.getMessage());
        }
    }

    @Test
    void newerConfigsGiveRopeThetaInsideRopeParameters() {
        // transformers 5 writes {"rope_parameters": {"rope_type": "default", "rope_theta": ...}}: the same model as the
        // top-level rope_theta; another theta gives other logits (so the value is read, not ignored)
        String base = TINY.replace("\"rope_theta\": 10000.0", "\"rope_theta\": 500000.0");
        String nested = TINY.replace("\"rope_theta\": 10000.0",
                "\"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 500000.0}");
        String scaling = TINY.replace("\"model_type\": \"qwen3\",", "\"model_type\": \"qwen3\", \"rope_scaling\": {\"type\": \"default\"},");
        try (Arena arena = Arena.ofConfined(); TorchModel a = TorchModel.init(base, 3); TorchModel b = TorchModel.init(nested, 3);
             TorchModel c = TorchModel.init(TINY, 3); TorchModel d = TorchModel.init(scaling, 3)) {
            MemorySegment ids = longs(arena, new double[]{1, 7, 3, 9, 4, 2});
            float[] za = a.forward(ids, null, 1, 6, false).data().toArray(ValueLayout.JAVA_FLOAT);
            float[] zb = b.forward(ids, null, 1, 6, false).data().toArray(ValueLayout.JAVA_FLOAT);
            float[] zc = c.forward(ids, null, 1, 6, false).data().toArray(ValueLayout.JAVA_FLOAT);
            float[] zd = d.forward(ids, null, 1, 6, false).data().toArray(ValueLayout.JAVA_FLOAT);
            assertArrayEquals(za, zb);
            assertArrayEquals(zc, zd);
            assertFalse(java.util.Arrays.equals(za, zc), "rope_theta 500000 and 10000 give the same logits");
        }
        WmssException e = assertThrows(WmssException.class, () -> TorchModel.init(TINY.replace("\"model_type\": \"qwen3\",",
                "\"model_type\": \"qwen3\", \"rope_parameters\": {\"rope_type\": \"yarn\", \"factor\": 4.0},"), 1));
        assertTrue(e.getMessage().contains("rope_parameters") && e.getMessage().contains("yarn"), e.getMessage());
    }

    @Test
    void tokenIdsOutOfRangeAreRejected() {
        try (Arena arena = Arena.ofConfined(); TorchModel m = TorchModel.init(TINY, 1)) {
            WmssException e = assertThrows(WmssException.class,
                    () -> m.forward(longs(arena, new double[]{3, 50}), null, 1, 2, false));
            assertTrue(e.getMessage().contains("token id"), e.getMessage());
        }
    }

    /** Loss of one model through the fused kernel (lambda = 1), with its logits gradient in g when given. */
    static double loss(TorchModel m, MemorySegment ids, MemorySegment labels, int b, int t, Logits g) {
        Logits z = m.forward(ids, null, b, t, g != null);
        CeMixArgs.Builder call = CeMix.of(z, z, labels).lambda(1f).invNorm(1f / (b * t));
        if (g != null) call.gradStrong(g);
        double l = call.run();
        if (g != null) m.backward(g);
        return l;
    }

    @Test
    void gradientsMatchFiniteDifferences() {
        int b = 2, t = 5;
        try (Arena arena = Arena.ofConfined(); TorchModel m = TorchModel.init(TINY, 7)) {
            SplittableRandom rnd = new SplittableRandom(3);
            MemorySegment ids = arena.allocate(8L * b * t), labels = arena.allocate(8L * b * t);
            for (int i = 0; i < b * t; i++) {
                ids.setAtIndex(ValueLayout.JAVA_LONG, i, rnd.nextInt(50));
                labels.setAtIndex(ValueLayout.JAVA_LONG, i, rnd.nextInt(50));
            }
            Logits g = Logits.allocate(arena, DType.F32, b * t, 50);
            loss(m, ids, labels, b, t, g);
            for (String name : new String[]{"model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.up_proj.weight",
                    "model.layers.0.self_attn.k_norm.weight", "model.embed_tokens.weight", "lm_head.weight"}) {
                MemorySegment[] p = m.parameter(name);
                float[] grad = p[1].toArray(ValueLayout.JAVA_FLOAT);
                int best = 0;
                for (int i = 0; i < grad.length; i++) if (Math.abs(grad[i]) > Math.abs(grad[best])) best = i;
                float w = p[0].getAtIndex(ValueLayout.JAVA_FLOAT, best), eps = 1e-2f;
                p[0].setAtIndex(ValueLayout.JAVA_FLOAT, best, w + eps);
                double up = loss(m, ids, labels, b, t, null);
                p[0].setAtIndex(ValueLayout.JAVA_FLOAT, best, w - eps);
                double down = loss(m, ids, labels, b, t, null);
                p[0].setAtIndex(ValueLayout.JAVA_FLOAT, best, w);
                double fd = (up - down) / (2 * eps);
                assertEquals(grad[best], fd, 0.03 * Math.abs(grad[best]) + 1e-4, name + "[" + best + "]");
            }
        }
    }

    @Test
    void jointTrainingOfWeakAndStrongOverfitsABatch() throws IOException {
        int b = 4, t = 12;
        try (Arena arena = Arena.ofConfined(); TorchModel weak = TorchModel.init(TINY, 1);
             TorchModel strong = TorchModel.init(TINY, 2)) {
            SplittableRandom rnd = new SplittableRandom(11);
            MemorySegment ids = arena.allocate(8L * b * t), labels = arena.allocate(8L * b * t);
            for (int i = 0; i < b * t; i++) {
                ids.setAtIndex(ValueLayout.JAVA_LONG, i, rnd.nextInt(50));
                labels.setAtIndex(ValueLayout.JAVA_LONG, i, i % t < 3 ? CeMix.IGNORE_INDEX : rnd.nextInt(50));
            }
            weak.adamW(3e-3, 0.9, 0.95, 1e-8, 0.0);
            strong.adamW(3e-3, 0.9, 0.95, 1e-8, 0.0);
            double first = 0, last = 0, norm = 0;
            long rssAfterWarmup = 0;
            for (int step = 0; step < 300; step++) {
                Logits zs = strong.forward(ids, null, b, t, true), zw = weak.forward(ids, null, b, t, true);
                last = CeMix.of(zs, zw, labels).lambda(0.5f).inPlace().run(); // gradients overwrite the logits
                strong.backward(zs);
                weak.backward(zw);
                norm = strong.step(3e-3, 1.0);
                weak.step(3e-3, 1.0);
                if (step == 0) first = last;
                if (step == 50) rssAfterWarmup = dev.wmss.kernels.CeMixLeakTest.rssKb();
            }
            long rssEnd = dev.wmss.kernels.CeMixLeakTest.rssKb();
            System.out.printf("joint training: loss %.4f -> %.4f, last grad norm %.4f, RSS %d -> %d kB%n", first, last,
                    norm, rssAfterWarmup, rssEnd);
            assertEquals(Math.log(50), first, 0.5, "starts near uniform");
            assertTrue(last < 0.05, "mixed loss after 300 steps: " + last);
            assertTrue(rssEnd - rssAfterWarmup < 32 * 1024, "RSS grew by " + (rssEnd - rssAfterWarmup) + " kB");
        }
    }
}
