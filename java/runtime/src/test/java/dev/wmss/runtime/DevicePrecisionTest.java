package dev.wmss.runtime;

import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.DType;
import dev.wmss.kernels.error.NonFiniteException;
import dev.wmss.kernels.error.WmssException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The device-generic model code on the CPU: a model moved with {@code to(device, precision)} keeps fp32 master
 * weights; bf16 compute (products, activations, the head's chunk logits) tracks fp32 within bf16's precision for
 * the loss, every gradient and the AdamW update, through the fused head and the full-logits path; devices that are
 * not there are named; a non-finite gradient norm stops the step before anything changes.
 */
class DevicePrecisionTest {
    static final int B = 2, T = 9, N = B * T, V = 61;

    static String config(boolean tied) {
        return """
                {"model_type": "qwen3", "vocab_size": 61, "hidden_size": 32, "intermediate_size": 48,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
                 "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": %b}""".formatted(tied);
    }

    record Inputs(MemorySegment ids, MemorySegment mask, MemorySegment labels, float invNorm) {
        static Inputs make(Arena arena) {
            long[] ids = new long[N], mask = new long[N], labels = new long[N];
            int n = 0;
            for (int i = 0; i < N; i++) {
                ids[i] = (i * 23 + 5) % V;
                mask[i] = i >= T && i < T + 3 ? 0 : 1; // left padding in the second example
                labels[i] = i % 4 == 0 || mask[i] == 0 ? CeMix.IGNORE_INDEX : (i * 13 + 2) % V;
                if (labels[i] != CeMix.IGNORE_INDEX) n++;
            }
            return new Inputs(arena.allocateFrom(ValueLayout.JAVA_LONG, ids), arena.allocateFrom(ValueLayout.JAVA_LONG, mask),
                    arena.allocateFrom(ValueLayout.JAVA_LONG, labels), 1f / n);
        }
    }

    static List<String> names(TorchModel m, boolean tied) {
        List<String> out = new java.util.ArrayList<>(List.of("model.embed_tokens.weight", "model.norm.weight",
                "model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight",
                "model.layers.1.self_attn.k_norm.weight", "model.layers.0.input_layernorm.weight"));
        if (!tied) out.add("lm_head.weight");
        return out;
    }

    /** One WD-JT fused-head step's loss and the strong model's gradients (then an AdamW step). */
    record Step(double loss, Map<String, float[]> grads, Map<String, float[]> weightsAfter, Map<String, float[]> updates) {}

    static Step wdjt(TorchModel strong, TorchModel weak, Inputs in, boolean tied, boolean fusedHead) {
        double loss;
        if (fusedHead) {
            strong.forwardHidden(in.ids, in.mask, B, T, true);
            weak.forwardHidden(in.ids, in.mask, B, T, true);
            loss = FusedHead.of(strong, weak, in.labels, N).lambda(0.5f).invNorm(in.invNorm).chunkBytes(7L * V * 4 * 2).run();
        } else {
            var zs = strong.forward(in.ids, in.mask, B, T, true);
            var zw = weak.forward(in.ids, in.mask, B, T, true);
            loss = CeMix.of(zs, zw, in.labels).lambda(0.5f).invNorm(in.invNorm).gradStrong(zs).gradWeak(zw).run();
            strong.backward(zs);
            weak.backward(zw);
        }
        Map<String, float[]> grads = new TreeMap<>(), after = new TreeMap<>(), before = new TreeMap<>(), updates = new TreeMap<>();
        for (String n : names(strong, tied)) {
            grads.put(n, strong.parameter(n)[1].toArray(ValueLayout.JAVA_FLOAT));
            before.put(n, strong.parameter(n)[0].toArray(ValueLayout.JAVA_FLOAT));
        }
        strong.step(1e-2, 1.0);
        weak.step(1e-2, 1.0);
        for (String n : names(strong, tied)) {
            float[] a = strong.parameter(n)[0].toArray(ValueLayout.JAVA_FLOAT), b = before.get(n), u = new float[a.length];
            for (int i = 0; i < a.length; i++) u[i] = a[i] - b[i];
            after.put(n, a);
            updates.put(n, u);
        }
        return new Step(loss, grads, after, updates);
    }

    static double relativeError(float[] got, float[] want) {
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
            double d = (double) got[i] - want[i];
            num += d * d;
            den += (double) want[i] * want[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-30));
    }

    static double cosine(float[] a, float[] b) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(Math.max(aa * bb, 1e-300));
    }

    static TorchModel[] pair(boolean tied) {
        TorchModel strong = TorchModel.init(config(tied), 5), weak = TorchModel.init(config(tied), 6);
        strong.adamW(1e-2, 0.9, 0.999, 1e-8, 0.01);
        weak.adamW(1e-2, 0.9, 0.999, 1e-8, 0.01);
        return new TorchModel[]{strong, weak};
    }

    @ParameterizedTest(name = "tied={0}")
    @ValueSource(booleans = {false, true})
    void bf16TracksFp32ThroughTheFusedAndTheFullHead(boolean tied) {
        for (boolean fusedHead : new boolean[]{true, false}) {
            TorchModel[] f = pair(tied), b = pair(tied);
            try (Arena arena = Arena.ofConfined()) {
                Inputs in = Inputs.make(arena);
                float[] before = f[0].parameter("model.layers.0.self_attn.q_proj.weight")[0].toArray(ValueLayout.JAVA_FLOAT);
                b[0].to("cpu", DType.BF16);
                b[1].to("cpu", DType.BF16);
                assertEquals(DType.BF16, b[0].precision());
                assertEquals("cpu", b[0].device());
                assertFalse(b[0].hostViews());
                // master weights stay fp32 and untouched by the move
                assertArrayEquals(before, b[0].parameter("model.layers.0.self_attn.q_proj.weight")[0].toArray(ValueLayout.JAVA_FLOAT));
                Step want = wdjt(f[0], f[1], in, tied, fusedHead), got = wdjt(b[0], b[1], in, tied, fusedHead);
                String where = (fusedHead ? "fused" : "full") + " head, tied=" + tied;
                assertTrue(Double.isFinite(got.loss), where);
                assertEquals(want.loss, got.loss, 0.02 * want.loss, where + ": loss");
                for (String n : want.grads.keySet()) {
                    double e = relativeError(got.grads.get(n), want.grads.get(n));
                    assertTrue(e < 0.06, where + ": gradient of " + n + " relative error " + e);
                }
                // AdamW's first step moves each weight by about lr times the sign of its gradient, so weights whose
                // gradient is near zero may move the other way in bf16: the updates agree in direction as a whole
                for (String n : want.updates.keySet()) {
                    double c = cosine(got.updates.get(n), want.updates.get(n));
                    assertTrue(c > 0.95, where + ": update of " + n + ", cosine with fp32's " + c);
                }
                float[] moved = got.weightsAfter.get("model.layers.0.self_attn.q_proj.weight");
                assertTrue(relativeError(moved, before) > 1e-3, where + ": the step changed the weights");
                // the update lands on fp32 master weights: most are not representable in bf16 (low 16 bits set)
                int fine = 0;
                for (float w : moved) if ((Float.floatToRawIntBits(w) & 0xffff) != 0) fine++;
                assertTrue(fine > moved.length * 0.9, where + ": master weights are fp32 (" + fine + " of " + moved.length + ")");
            } finally {
                for (TorchModel m : new TorchModel[]{f[0], f[1], b[0], b[1]}) m.close();
            }
        }
    }

    /**
     * Off the CPU's fp32 kernels (bf16 here, CUDA on a GPU) the fused ops are lean autograd functions of libtorch's ops
     * (RMSNorm, SwiGLU, stacked q/k/v and gate/up products): they agree with the composite reference ops (fused ops
     * off) within bf16 rounding, in the loss and every gradient.
     */
    @ParameterizedTest(name = "tied={0}")
    @ValueSource(booleans = {false, true})
    void leanOpsMatchTheCompositeReference(boolean tied) {
        Step[] got = new Step[2];
        for (int k = 0; k < 2; k++) {
            TorchModel[] p = pair(tied);
            try (Arena arena = Arena.ofConfined()) {
                WmssTorch.setFusedOps(k == 0);
                p[0].to("cpu", DType.BF16);
                p[1].to("cpu", DType.BF16);
                got[k] = wdjt(p[0], p[1], Inputs.make(arena), tied, true);
            } finally {
                WmssTorch.setFusedOps(true);
                p[0].close();
                p[1].close();
            }
        }
        assertEquals(got[1].loss, got[0].loss, 5e-3 * got[1].loss, "loss");
        for (String n : got[1].grads.keySet()) {
            double e = relativeError(got[0].grads.get(n), got[1].grads.get(n));
            assertTrue(e < 0.03, "gradient of " + n + ": lean vs composite, relative error " + e);
        }
    }

    @Test
    void aRoundTripThroughBf16LeavesTheFp32ModelExact() {
        try (Arena arena = Arena.ofConfined(); TorchModel a = TorchModel.init(config(false), 9);
             TorchModel b = TorchModel.init(config(false), 9)) {
            Inputs in = Inputs.make(arena);
            b.to("cpu", DType.BF16);
            float[] z16 = b.forward(in.ids, in.mask, B, T, false).data().asSlice(0, 4L * N * V).toArray(ValueLayout.JAVA_FLOAT);
            b.to("cpu", DType.F32);
            assertTrue(b.hostViews());
            float[] za = a.forward(in.ids, in.mask, B, T, false).data().asSlice(0, 4L * N * V).toArray(ValueLayout.JAVA_FLOAT);
            float[] zb = b.forward(in.ids, in.mask, B, T, false).data().asSlice(0, 4L * N * V).toArray(ValueLayout.JAVA_FLOAT);
            assertArrayEquals(za, zb, "fp32 logits after cpu/bf16/cpu/fp32");
            double e = relativeError(z16, za);
            assertTrue(e > 0 && e < 0.03, "bf16 logits differ from fp32 by bf16 rounding only: " + e);
        }
    }

    @Test
    void generationRunsInBf16() {
        try (TorchModel m = TorchModel.init(config(true), 3)) {
            int[][] fp32 = m.generate(new int[][]{{1, 2, 3}, {4}}, 6, 64, -1);
            m.to("cpu", DType.BF16);
            int[][] bf16 = m.generate(new int[][]{{1, 2, 3}, {4}}, 6, 64, -1);
            assertEquals(6, bf16[0].length);
            assertEquals(6, bf16[1].length);
            for (int[] row : bf16) for (int t : row) assertTrue(t >= 0 && t < V);
            assertEquals(fp32.length, bf16.length);
        }
    }

    @Test
    void devicesThatAreNotThereAreNamed() {
        try (TorchModel m = TorchModel.init(config(false), 1)) {
            WmssException bad = assertThrows(WmssException.class, () -> m.to("gpu", DType.F32));
            assertTrue(bad.getMessage().contains("expected cpu, cuda or cuda:N"), bad.getMessage());
            assertThrows(WmssException.class, () -> m.to("cuda:x", DType.F32));
            if (WmssTorch.cudaDeviceCount() == 0) {
                WmssException none = assertThrows(WmssException.class, () -> m.to("cuda", DType.BF16));
                assertTrue(none.getMessage().contains("CPU libtorch") || none.getMessage().contains("no CUDA device"),
                        none.getMessage());
            }
            assertThrows(WmssException.class, () -> m.to("cuda:99", DType.F32));
            assertEquals("cpu", m.device()); // a refused move leaves the model where it was
            assertEquals(DType.F32, m.precision());
        }
    }

    @Test
    void aNonFiniteGradientStopsTheStepBeforeAnythingChanges() {
        try (Arena arena = Arena.ofConfined(); TorchModel m = TorchModel.init(config(false), 4)) {
            m.adamW(1e-2, 0.9, 0.999, 1e-8, 0.0);
            Inputs in = Inputs.make(arena);
            m.forwardHidden(in.ids, in.mask, B, T, true);
            FusedHead.of(m, null, in.labels, N).invNorm(in.invNorm).run();
            String n = "model.layers.1.mlp.down_proj.weight";
            float[] before = m.parameter(n)[0].toArray(ValueLayout.JAVA_FLOAT);
            m.parameter(n)[1].setAtIndex(ValueLayout.JAVA_FLOAT, 3, Float.NaN);
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> m.step(1e-2, 1.0));
            assertTrue(e.getMessage().contains("not taken"), e.getMessage());
            assertArrayEquals(before, m.parameter(n)[0].toArray(ValueLayout.JAVA_FLOAT));
        }
    }

    @Test
    void theBuildAndTheCpuDescribeThemselves() {
        Map<String, String> info = WmssTorch.buildInfo();
        for (String k : List.of("flavour", "libtorch", "fused_attention", "fused_adamw", "gloo", "nccl")) {
            assertTrue(info.containsKey(k), "build info lacks " + k + ": " + info);
        }
        assertEquals(WmssTorch.version(), info.get("libtorch"));
        if (info.get("flavour").equals("cpu")) {
            assertEquals(0, WmssTorch.cudaDeviceCount());
            assertEquals("cpu", WmssTorch.defaultDevice());
        }
        long[] mem = WmssTorch.deviceMemory("cpu", false);
        assertTrue(mem[0] > 0 && mem[1] >= mem[0] && mem[3] > mem[1], java.util.Arrays.toString(mem));
        WmssTorch.synchronize("cpu");
        assertTrue(WmssTorch.matmulPeak("cpu", DType.BF16) > 0);
    }
}
