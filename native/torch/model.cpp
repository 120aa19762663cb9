#include "model.h"

#include <cmath>
#include <sstream>
#include <nlohmann/json.hpp>

#include "error.h"

using json = nlohmann::json;

namespace wmss {

ModelConfig ModelConfig::parse(const std::string &text, const std::string &where) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception &e) {
        throw Error{WMSS_ERR_ARGUMENT, where + ": malformed JSON: " + e.what()};
    }
    ModelConfig c;
    auto need = [&](const char *k) -> const json & {
        if (!j.contains(k)) throw Error{WMSS_ERR_ARGUMENT, where + ": missing \"" + std::string(k) + "\""};
        return j.at(k);
    };
    c.model_type = j.value("model_type", std::string("llama"));
    if (c.model_type != "llama" && c.model_type != "qwen2" && c.model_type != "qwen3" && c.model_type != "mistral")
        throw Error{WMSS_ERR_ARGUMENT, where + ": model_type \"" + c.model_type + "\" is not supported (llama, mistral, qwen2, qwen3)"};
    // Refuse what this implementation would silently get wrong.
    if (j.contains("rope_scaling") && !j.at("rope_scaling").is_null())
        throw Error{WMSS_ERR_ARGUMENT, where + ": rope_scaling is not supported yet (plain RoPE only)"};
    if (j.value("use_sliding_window", false))
        throw Error{WMSS_ERR_ARGUMENT, where + ": sliding-window attention is not supported yet"};
    if (j.contains("hidden_act") && j.at("hidden_act") != "silu")
        throw Error{WMSS_ERR_ARGUMENT, where + ": hidden_act must be silu (SwiGLU)"};
    c.vocab_size = need("vocab_size").get<int64_t>();
    c.hidden_size = need("hidden_size").get<int64_t>();
    c.intermediate_size = need("intermediate_size").get<int64_t>();
    c.num_hidden_layers = need("num_hidden_layers").get<int64_t>();
    c.num_attention_heads = need("num_attention_heads").get<int64_t>();
    c.num_key_value_heads = j.value("num_key_value_heads", c.num_attention_heads);
    c.head_dim = j.contains("head_dim") && !j.at("head_dim").is_null() ? j.at("head_dim").get<int64_t>()
                                                                         : c.hidden_size / c.num_attention_heads;
    c.max_position_embeddings = j.value("max_position_embeddings", (int64_t)4096);
    c.rms_norm_eps = j.value("rms_norm_eps", 1e-6);
    c.rope_theta = j.value("rope_theta", 10000.0);
    c.tie_word_embeddings = j.value("tie_word_embeddings", false);
    c.attention_bias = j.value("attention_bias", c.model_type == "qwen2");
    c.qk_norm = c.model_type == "qwen3";
    if (c.vocab_size < 1 || c.hidden_size < 1 || c.num_hidden_layers < 0 || c.num_attention_heads < 1 ||
        c.num_key_value_heads < 1 || c.num_attention_heads % c.num_key_value_heads || c.head_dim < 2 || c.head_dim % 2)
        throw Error{WMSS_ERR_ARGUMENT, where + ": inconsistent sizes (heads " + std::to_string(c.num_attention_heads) +
                                           ", kv heads " + std::to_string(c.num_key_value_heads) + ", head_dim " +
                                           std::to_string(c.head_dim) + ")"};
    return c;
}

std::string ModelConfig::to_json() const {
    json j = {{"model_type", model_type},
              {"architectures", {model_type == "qwen3" ? "Qwen3ForCausalLM" : model_type == "qwen2" ? "Qwen2ForCausalLM" : "LlamaForCausalLM"}},
              {"vocab_size", vocab_size},
              {"hidden_size", hidden_size},
              {"intermediate_size", intermediate_size},
              {"num_hidden_layers", num_hidden_layers},
              {"num_attention_heads", num_attention_heads},
              {"num_key_value_heads", num_key_value_heads},
              {"head_dim", head_dim},
              {"max_position_embeddings", max_position_embeddings},
              {"rms_norm_eps", rms_norm_eps},
              {"rope_theta", rope_theta},
              {"tie_word_embeddings", tie_word_embeddings},
              {"attention_bias", attention_bias},
              {"hidden_act", "silu"},
              {"torch_dtype", "float32"}};
    return j.dump(2);
}

torch::Tensor Decoder::register_parameter(const std::string &name, torch::Tensor t) {
    t = t.to(torch::kFloat32).contiguous().set_requires_grad(true);
    named_.emplace(name, t);
    return t;
}

std::vector<torch::Tensor> Decoder::parameters() const {
    std::vector<torch::Tensor> out;
    for (const auto &kv : named_) out.push_back(kv.second);
    return out;
}

Decoder::Decoder(const ModelConfig &c) : cfg_(c) {
    const int64_t H = c.hidden_size, hd = c.head_dim, nq = c.num_attention_heads * hd, nkv = c.num_key_value_heads * hd;
    auto normal = [](std::vector<int64_t> shape) { return torch::randn(shape) * 0.02; };
    embed_ = register_parameter("model.embed_tokens.weight", normal({c.vocab_size, H}));
    for (int64_t i = 0; i < c.num_hidden_layers; i++) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        Layer l;
        l.in_norm = register_parameter(p + "input_layernorm.weight", torch::ones({H}));
        l.q = register_parameter(p + "self_attn.q_proj.weight", normal({nq, H}));
        l.k = register_parameter(p + "self_attn.k_proj.weight", normal({nkv, H}));
        l.v = register_parameter(p + "self_attn.v_proj.weight", normal({nkv, H}));
        l.o = register_parameter(p + "self_attn.o_proj.weight", normal({H, nq}));
        if (c.attention_bias) {
            l.q_bias = register_parameter(p + "self_attn.q_proj.bias", torch::zeros({nq}));
            l.k_bias = register_parameter(p + "self_attn.k_proj.bias", torch::zeros({nkv}));
            l.v_bias = register_parameter(p + "self_attn.v_proj.bias", torch::zeros({nkv}));
        }
        if (c.qk_norm) {
            l.q_norm = register_parameter(p + "self_attn.q_norm.weight", torch::ones({hd}));
            l.k_norm = register_parameter(p + "self_attn.k_norm.weight", torch::ones({hd}));
        }
        l.post_norm = register_parameter(p + "post_attention_layernorm.weight", torch::ones({H}));
        l.gate = register_parameter(p + "mlp.gate_proj.weight", normal({c.intermediate_size, H}));
        l.up = register_parameter(p + "mlp.up_proj.weight", normal({c.intermediate_size, H}));
        l.down = register_parameter(p + "mlp.down_proj.weight", normal({H, c.intermediate_size}));
        layers_.push_back(l);
    }
    final_norm_ = register_parameter("model.norm.weight", torch::ones({H}));
    if (!c.tie_word_embeddings) lm_head_ = register_parameter("lm_head.weight", normal({c.vocab_size, H}));
}

torch::Tensor Decoder::rms_norm(const torch::Tensor &x, const torch::Tensor &w) const {
    const auto x32 = x.to(torch::kFloat32);
    return (x32 * torch::rsqrt(x32.pow(2).mean(-1, true) + cfg_.rms_norm_eps)).to(x.scalar_type()) * w;
}

namespace {
/** (x1, x2) -> (-x2, x1) over the two halves of the last dimension (the Hugging Face rotary layout). */
torch::Tensor rotate_half(const torch::Tensor &x) {
    const auto halves = x.chunk(2, -1);
    return torch::cat({-halves[1], halves[0]}, -1);
}
}  // namespace

torch::Tensor Decoder::attention(const Layer &l, const torch::Tensor &x, const torch::Tensor &cos,
                                     const torch::Tensor &sin, const torch::Tensor &bias) const {
    const int64_t B = x.size(0), T = x.size(1), hd = cfg_.head_dim;
    const int64_t nh = cfg_.num_attention_heads, nkv = cfg_.num_key_value_heads;
    auto q = torch::linear(x, l.q, l.q_bias).view({B, T, nh, hd});
    auto k = torch::linear(x, l.k, l.k_bias).view({B, T, nkv, hd});
    auto v = torch::linear(x, l.v, l.v_bias).view({B, T, nkv, hd});
    if (cfg_.qk_norm) {
        q = rms_norm(q, l.q_norm);
        k = rms_norm(k, l.k_norm);
    }
    q = q.transpose(1, 2); // [B, nh, T, hd]
    k = k.transpose(1, 2);
    v = v.transpose(1, 2);
    q = q * cos + rotate_half(q) * sin;
    k = k * cos + rotate_half(k) * sin;
    if (nkv != nh) { // grouped-query attention: each kv head serves nh / nkv query heads
        k = k.repeat_interleave(nh / nkv, 1);
        v = v.repeat_interleave(nh / nkv, 1);
    }
    auto scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt((double)hd) + bias;
    auto probs = torch::softmax(scores.to(torch::kFloat32), -1).to(q.scalar_type());
    auto out = torch::matmul(probs, v).transpose(1, 2).reshape({B, T, nh * hd});
    return torch::linear(out, l.o);
}

torch::Tensor Decoder::forward(const torch::Tensor &ids, const torch::Tensor &mask) {
    const int64_t T = ids.size(1);
    auto x = torch::embedding(embed_, ids);
    // Positions count real tokens, so left and right padding both work; padding keys are masked out. A large
    // negative (not -inf) keeps fully masked rows (padding queries) finite.
    const auto m = mask.to(torch::kInt64);
    const auto pos = (m.cumsum(1) - 1).clamp_min(0).to(torch::kFloat32); // [B, T]
    const auto inv_freq =
        1.0 / torch::pow(cfg_.rope_theta, torch::arange(0, cfg_.head_dim, 2, torch::kFloat64) / (double)cfg_.head_dim);
    const auto freqs = pos.to(torch::kFloat64).unsqueeze(-1) * inv_freq; // [B, T, hd/2]
    const auto emb = torch::cat({freqs, freqs}, -1).unsqueeze(1);        // [B, 1, T, hd]
    const auto cos = emb.cos().to(x.scalar_type()), sin = emb.sin().to(x.scalar_type());
    const auto causal = torch::ones({T, T}, torch::kBool).tril();
    const auto allowed = causal.unsqueeze(0) & m.to(torch::kBool).unsqueeze(1); // [B, T(q), T(k)]
    const auto bias = torch::where(allowed, torch::zeros({}, x.options()), torch::full({}, -1e9, x.options()))
                          .unsqueeze(1); // [B, 1, T, T]
    for (const auto &l : layers_) {
        x = x + attention(l, rms_norm(x, l.in_norm), cos, sin, bias);
        const auto h = rms_norm(x, l.post_norm);
        x = x + torch::linear(torch::silu(torch::linear(h, l.gate)) * torch::linear(h, l.up), l.down);
    }
    x = rms_norm(x, final_norm_);
    return torch::linear(x, cfg_.tie_word_embeddings ? embed_ : lm_head_).to(torch::kFloat32);
}

void Decoder::load_state(const TensorMap &tensors) {
    torch::NoGradGuard no_grad;
    for (const auto &p : named_) {
        auto it = tensors.find(p.first);
        if (it == tensors.end()) throw Error{WMSS_ERR_ARGUMENT, "checkpoint lacks tensor " + p.first};
        if (it->second.sizes() != p.second.sizes()) {
            std::ostringstream m;
            m << "tensor " << p.first << " has shape " << it->second.sizes() << ", the config needs " << p.second.sizes();
            throw Error{WMSS_ERR_SHAPE, m.str()};
        }
    }
    for (const auto &kv : tensors) {
        if (named_.count(kv.first)) continue;
        if (kv.first == "lm_head.weight" && cfg_.tie_word_embeddings) continue; // some tied checkpoints store it
        if (kv.first.find("rotary_emb.inv_freq") != std::string::npos) continue; // older exports
        throw Error{WMSS_ERR_ARGUMENT, "checkpoint has tensor " + kv.first + " that this config does not use"};
    }
    for (auto &p : named_) p.second.copy_(tensors.at(p.first));
}

}  // namespace wmss
