package dev.wmss.train.plan;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The architectures' shapes `init` makes and `plan` knows by name: Qwen3 at its published sizes (0.6B to 8B), and tiny
 * ones for tests. vocab_size is the tokenizer's (`init`) or the published one (`plan`).
 */
public final class Presets {
    private Presets() {}

    public static final Map<String, String> CONFIGS = configs();
    /** The published vocabularies (Qwen3's 151,936), for planning by name. */
    public static final Map<String, Long> VOCAB = Map.of("qwen3-tiny", 259L, "qwen3-0.6b", 151936L, "qwen3-1.7b", 151936L,
            "qwen3-4b", 151936L, "qwen3-8b", 151936L, "llama-tiny", 259L);
    public static final String NAMES = "qwen3-tiny, qwen3-0.6b, qwen3-1.7b, qwen3-4b, qwen3-8b (the Qwen3 shapes), llama-tiny";

    private static Map<String, String> configs() {
        Map<String, String> p = new LinkedHashMap<>();
        String qwen3 = """
                {"model_type": "qwen3", "architectures": ["Qwen3ForCausalLM"], "hidden_size": %d, "intermediate_size": %d,
                 "num_hidden_layers": %d, "num_attention_heads": %d, "num_key_value_heads": %d, "head_dim": %d,
                 "max_position_embeddings": %d, "rms_norm_eps": 1e-6, "rope_theta": %s, "tie_word_embeddings": %s,
                 "attention_bias": false, "hidden_act": "silu"}""";
        p.put("qwen3-tiny", qwen3.formatted(64, 128, 2, 4, 2, 16, 2048, "10000.0", "true"));
        p.put("qwen3-0.6b", qwen3.formatted(1024, 3072, 28, 16, 8, 128, 40960, "1000000.0", "true"));
        p.put("qwen3-1.7b", qwen3.formatted(2048, 6144, 28, 16, 8, 128, 40960, "1000000.0", "true"));
        p.put("qwen3-4b", qwen3.formatted(2560, 9728, 36, 32, 8, 128, 40960, "1000000.0", "true"));
        p.put("qwen3-8b", qwen3.formatted(4096, 12288, 36, 32, 8, 128, 40960, "1000000.0", "false"));
        p.put("llama-tiny", """
                {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 176,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 2048,
                 "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "tie_word_embeddings": true, "attention_bias": false,
                 "hidden_act": "silu"}""");
        return p;
    }
}
