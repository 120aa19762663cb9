package dev.wmss.runtime;

import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.Logits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Map;
import java.util.TreeMap;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The decoder's fused ops (RMSNorm, rotary embeddings, SwiGLU, scaled masked softmax, grouped attention) against
 * libtorch's composite ops on the same model: logits and every parameter's gradient of one loss, with padding on
 * both sides, grouped-query and plain multi-head attention, q/k norms (Qwen3), biases (Qwen2), tied and untied
 * heads, odd sizes (T = 13, head_dim 6).
 */
class FusedOpsTest {
    static final Map<String, String> CONFIGS = Map.of(
            "qwen3-gqa", """
                    {"model_type": "qwen3", "vocab_size": 53, "hidden_size": 40, "intermediate_size": 72,
                     "num_hidden_layers": 2, "num_attention_heads": 6, "num_key_value_heads": 2, "head_dim": 6,
                     "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": false}""",
            "llama-mha", """
                    {"model_type": "llama", "vocab_size": 47, "hidden_size": 24, "intermediate_size": 40,
                     "num_hidden_layers": 2, "num_attention_heads": 3, "num_key_value_heads": 3,
                     "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": true}""",
            "qwen2-bias", """
                    {"model_type": "qwen2", "vocab_size": 61, "hidden_size": 32, "intermediate_size": 48,
                     "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 1,
                     "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": true}""");

    @AfterEach
    void fusedOpsBackOn() {
        WmssTorch.setFusedOps(true);
    }

    record Result(float[] logits, Map<String, float[]> grads) {}

    static Result run(String config, boolean fused) {
        WmssTorch.setFusedOps(fused);
        int b = 3, t = 13;
        try (Arena arena = Arena.ofConfined(); TorchModel m = TorchModel.init(config, 7)) {
            long v = m.vocab();
            long[] ids = new long[b * t], mask = new long[b * t], labels = new long[b * t];
            for (int i = 0; i < b * t; i++) {
                int r = i / t, c = i % t;
                ids[i] = (i * 29L + 5) % v;
                mask[i] = (r == 1 && c < 3) || (r == 2 && c >= 10) ? 0 : 1; // left padding, right padding
                labels[i] = mask[i] == 0 ? CeMix.IGNORE_INDEX : (i * 13L + 1) % v;
            }
            MemorySegment idSeg = arena.allocateFrom(ValueLayout.JAVA_LONG, ids), maskSeg = arena.allocateFrom(ValueLayout.JAVA_LONG, mask);
            Logits.Host z = m.forward(idSeg, maskSeg, b, t, true);
            float[] logits = z.data().toArray(ValueLayout.JAVA_FLOAT);
            CeMix.of(z, z, arena.allocateFrom(ValueLayout.JAVA_LONG, labels)).lambda(1f).gradStrong(z).run();
            m.backward(z);
            Map<String, float[]> grads = new TreeMap<>();
            for (String name : names(config, m)) grads.put(name, m.parameter(name)[1].toArray(ValueLayout.JAVA_FLOAT));
            return new Result(logits, grads);
        }
    }

    static java.util.List<String> names(String config, TorchModel m) {
        java.util.List<String> out = new java.util.ArrayList<>(java.util.List.of("model.embed_tokens.weight", "model.norm.weight"));
        for (String s : new String[]{"input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                "self_attn.v_proj.weight", "self_attn.o_proj.weight", "self_attn.q_norm.weight", "self_attn.k_norm.weight",
                "self_attn.q_proj.bias", "self_attn.v_proj.bias", "post_attention_layernorm.weight", "mlp.gate_proj.weight",
                "mlp.up_proj.weight", "mlp.down_proj.weight"}) {
            String n = "model.layers.0." + s;
            try {
                m.parameter(n);
                out.add(n);
            } catch (dev.wmss.kernels.error.InvalidArgumentException absent) {
                // not in this architecture
            }
        }
        return out;
    }

    static void close(float[] want, float[] got, double tol, String what) {
        assertEquals(want.length, got.length, what);
        double scale = 1e-12;
        for (float w : want) scale = Math.max(scale, Math.abs(w));
        for (int i = 0; i < want.length; i++) {
            assertTrue(Float.isFinite(got[i]), what + "[" + i + "] is " + got[i]);
            assertEquals(want[i], got[i], tol * scale, what + "[" + i + "] (max |x| " + scale + ")");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"qwen3-gqa", "llama-mha", "qwen2-bias"})
    void fusedOpsMatchTheCompositeOps(String name) {
        Result ref = run(CONFIGS.get(name), false), got = run(CONFIGS.get(name), true);
        close(ref.logits(), got.logits(), 1e-5, name + " logits");
        assertEquals(ref.grads().keySet(), got.grads().keySet());
        for (String p : ref.grads().keySet()) close(ref.grads().get(p), got.grads().get(p), 1e-4, name + " grad " + p);
        boolean differs = false;
        for (int i = 0; i < ref.logits().length && !differs; i++) differs = ref.logits()[i] != got.logits()[i];
        assertTrue(differs, "the switch must select another implementation (bit-identical logits)");
    }
}
