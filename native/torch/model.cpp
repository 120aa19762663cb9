#include "model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <nlohmann/json.hpp>

#include "compat.h"
#include "error.h"
#include "fused_ops.h"

using json = nlohmann::json;

namespace wmss {

ModelConfig ModelConfig::parse(const std::string &text, const std::string &where) {
    json j;
    // a key given twice in one object is refused (a JSON parser keeps one of them silently: which one is not the file's
    // to say); the callback sees each object's keys in order
    std::vector<std::set<std::string>> keys;
    const json::parser_callback_t unique_keys = [&](int, json::parse_event_t event, json &parsed) {
        if (event == json::parse_event_t::object_start) keys.emplace_back();
        else if (event == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
        else if (event == json::parse_event_t::key && !keys.empty() && !keys.back().insert(parsed.get<std::string>()).second)
            throw Error{WMSS_ERR_ARGUMENT, where + ": the key \"" + parsed.get<std::string>() + "\" appears twice in one object"};
        return true;
    };
    try {
        j = json::parse(text, unique_keys);
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
    // Refuse what this implementation would silently get wrong. RoPE parameters come as rope_theta (older configs)
    // or inside rope_parameters / rope_scaling (newer Hugging Face releases); only the plain ("default") RoPE is here.
    if (j.contains("rope_theta") && !j.at("rope_theta").is_number())
        throw Error{WMSS_ERR_ARGUMENT, where + ": rope_theta must be a number, got " + j.at("rope_theta").dump()};
    double rope_theta = j.value("rope_theta", 10000.0);
    for (const char *k : {"rope_scaling", "rope_parameters"}) {
        if (!j.contains(k) || j.at(k).is_null()) continue;
        const json &r = j.at(k);
        const std::string type = r.is_object() ? r.value("rope_type", r.value("type", std::string("default"))) : "?";
        if (type != "default")
            throw Error{WMSS_ERR_ARGUMENT, where + ": " + k + " of type \"" + type + "\" is not supported yet (plain RoPE only)"};
        if (r.contains("rope_theta") && r.at("rope_theta").is_number()) rope_theta = r.at("rope_theta").get<double>();
    }
    if (j.value("mlp_bias", false))
        throw Error{WMSS_ERR_ARGUMENT, where + ": mlp_bias is not supported (the MLP's projections have no bias here)"};
    if (j.value("use_sliding_window", false))
        throw Error{WMSS_ERR_ARGUMENT, where + ": sliding-window attention is not supported yet"};
    if (j.contains("hidden_act") && j.at("hidden_act") != "silu")
        throw Error{WMSS_ERR_ARGUMENT, where + ": hidden_act must be silu (SwiGLU)"};
    // Sizes one by one, so that a bad value is named (a zero hidden_size, a string, a fraction).
    auto size = [&](const char *k, int64_t min) -> int64_t {
        const json &v = need(k);
        if (!v.is_number_integer())
            throw Error{WMSS_ERR_ARGUMENT, where + ": " + std::string(k) + " must be an integer, got " + v.dump()};
        const int64_t x = v.get<int64_t>();
        if (x < min)
            throw Error{WMSS_ERR_ARGUMENT, where + ": " + std::string(k) + " must be >= " + std::to_string(min) +
                                               ", got " + std::to_string(x)};
        return x;
    };
    auto optional_size = [&](const char *k, int64_t min, int64_t fallback) -> int64_t {
        return j.contains(k) && !j.at(k).is_null() ? size(k, min) : fallback;
    };
    c.vocab_size = size("vocab_size", 1);
    c.hidden_size = size("hidden_size", 1);
    c.intermediate_size = size("intermediate_size", 1);
    c.num_hidden_layers = size("num_hidden_layers", 0);
    c.num_attention_heads = size("num_attention_heads", 1);
    c.num_key_value_heads = optional_size("num_key_value_heads", 1, c.num_attention_heads);
    if (c.num_attention_heads % c.num_key_value_heads)
        throw Error{WMSS_ERR_ARGUMENT, where + ": num_attention_heads " + std::to_string(c.num_attention_heads) +
                                           " is not a multiple of num_key_value_heads " +
                                           std::to_string(c.num_key_value_heads)};
    if (!(j.contains("head_dim") && !j.at("head_dim").is_null()) && c.hidden_size % c.num_attention_heads)
        throw Error{WMSS_ERR_ARGUMENT, where + ": hidden_size " + std::to_string(c.hidden_size) +
                                           " is not a multiple of num_attention_heads " +
                                           std::to_string(c.num_attention_heads) + " and no head_dim is given"};
    c.head_dim = optional_size("head_dim", 2, c.hidden_size / c.num_attention_heads);
    if (c.head_dim < 2 || c.head_dim % 2)
        throw Error{WMSS_ERR_ARGUMENT, where + ": head_dim must be even and >= 2 (RoPE rotates pairs), got " +
                                           std::to_string(c.head_dim)};
    c.max_position_embeddings = optional_size("max_position_embeddings", 1, 4096);
    // positive, finite numbers (a zero or negative epsilon divides by zero in RMSNorm; a theta <= 0 makes no rotation)
    auto positive = [&](const char *k, double value) {
        if (!(value > 0) || !std::isfinite(value))
            throw Error{WMSS_ERR_ARGUMENT, where + ": " + std::string(k) + " must be a positive number, got " +
                                               (j.contains(k) ? j.at(k).dump() : std::to_string(value))};
        return value;
    };
    if (j.contains("rms_norm_eps") && !j.at("rms_norm_eps").is_number())
        throw Error{WMSS_ERR_ARGUMENT, where + ": rms_norm_eps must be a number, got " + j.at("rms_norm_eps").dump()};
    c.rms_norm_eps = positive("rms_norm_eps", j.value("rms_norm_eps", 1e-6));
    c.rope_theta = positive("rope_theta", rope_theta);
    c.tie_word_embeddings = j.value("tie_word_embeddings", false);
    c.attention_bias = j.value("attention_bias", c.model_type == "qwen2");
    c.qk_norm = c.model_type == "qwen3";
    c.source_json = text;
    return c;
}

std::string ModelConfig::to_json(const char *torch_dtype) const {
    const char *architecture = model_type == "qwen3"     ? "Qwen3ForCausalLM"
                               : model_type == "qwen2"   ? "Qwen2ForCausalLM"
                               : model_type == "mistral" ? "MistralForCausalLM"
                                                         : "LlamaForCausalLM";
    json j = {{"model_type", model_type},
              {"architectures", {architecture}},
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
              {"torch_dtype", torch_dtype}};
    if (source_json.empty()) return j.dump(2);
    // the source's every field (bos/eos ids, rope_scaling, generation fields, ...), with the fields this model reads
    // written out explicitly (the values it read: defaults included, which other loaders may not share) and the dtype
    // of the saved weights; the source's architecture name stays
    json out = json::parse(source_json);
    for (auto it = j.begin(); it != j.end(); ++it)
        if (it.key() != "architectures" || !out.contains("architectures")) out[it.key()] = it.value();
    if (out.contains("dtype")) out["dtype"] = torch_dtype; // the newer spelling, where the source uses it
    return out.dump(2);
}

std::map<std::string, std::vector<int64_t>> ModelConfig::parameter_shapes() const {
    const int64_t H = hidden_size, hd = head_dim, nq = num_attention_heads * hd, nkv = num_key_value_heads * hd;
    std::map<std::string, std::vector<int64_t>> s;
    s["model.embed_tokens.weight"] = {vocab_size, H};
    for (int64_t i = 0; i < num_hidden_layers; i++) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        s[p + "input_layernorm.weight"] = {H};
        s[p + "self_attn.q_proj.weight"] = {nq, H};
        s[p + "self_attn.k_proj.weight"] = {nkv, H};
        s[p + "self_attn.v_proj.weight"] = {nkv, H};
        s[p + "self_attn.o_proj.weight"] = {H, nq};
        if (attention_bias) {
            s[p + "self_attn.q_proj.bias"] = {nq};
            s[p + "self_attn.k_proj.bias"] = {nkv};
            s[p + "self_attn.v_proj.bias"] = {nkv};
        }
        if (qk_norm) {
            s[p + "self_attn.q_norm.weight"] = {hd};
            s[p + "self_attn.k_norm.weight"] = {hd};
        }
        s[p + "post_attention_layernorm.weight"] = {H};
        s[p + "mlp.gate_proj.weight"] = {intermediate_size, H};
        s[p + "mlp.up_proj.weight"] = {intermediate_size, H};
        s[p + "mlp.down_proj.weight"] = {H, intermediate_size};
    }
    s["model.norm.weight"] = {H};
    if (!tie_word_embeddings) s["lm_head.weight"] = {vocab_size, H};
    return s;
}

namespace {
/** a * b + c with overflow detection (sizes come from untrusted config files). */
bool mul_add(int64_t a, int64_t b, int64_t c, int64_t &out) {
    int64_t p;
    return !__builtin_mul_overflow(a, b, &p) && !__builtin_add_overflow(p, c, &out);
}

std::string gib(double bytes) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
    return buf;
}

/** A number from a one-value file (cgroup), or -1 if absent or "max". */
double read_number(const char *path) {
    std::ifstream in(path);
    std::string v;
    if (!(in >> v) || v == "max") return -1;
    try {
        return std::stod(v);
    } catch (const std::exception &) {
        return -1;
    }
}

/** Bytes of memory available to this process now, or -1 if unknown. */
double available_memory() {
    double avail = -1;
    std::ifstream meminfo("/proc/meminfo");
    std::string key;
    double kb;
    std::string unit;
    while (meminfo >> key >> kb) {
        std::getline(meminfo, unit);
        if (key == "MemAvailable:") {
            avail = kb * 1024.0;
            break;
        }
    }
    for (auto [limit, usage] : {std::pair{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
                                std::pair{"/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                          "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
        const double l = read_number(limit), u = read_number(usage);
        if (l > 0 && l < 1e18 && u >= 0) avail = avail < 0 ? l - u : std::min(avail, l - u);
    }
    return avail;
}
}  // namespace

int64_t ModelConfig::parameter_count(const std::string &where) const {
    const int64_t H = hidden_size, hd = head_dim, nq = num_attention_heads * hd, nkv = num_key_value_heads * hd;
    int64_t layer = 0, total = 0;
    bool ok = mul_add(2 * H, nq, 0, layer) && mul_add(2 * H, nkv, layer, layer) &&
              mul_add(3 * H, intermediate_size, layer, layer) && mul_add(2, H, layer, layer) &&
              mul_add(attention_bias ? 1 : 0, nq + 2 * nkv, layer, layer) && mul_add(qk_norm ? 2 : 0, hd, layer, layer) &&
              mul_add(layer, num_hidden_layers, 0, total) && mul_add(vocab_size, H, total, total) &&
              mul_add(tie_word_embeddings ? 0 : vocab_size, H, total, total) && mul_add(1, H, total, total);
    if (!ok)
        throw Error{WMSS_ERR_ARGUMENT, where + ": the sizes (hidden_size " + std::to_string(hidden_size) +
                                           ", intermediate_size " + std::to_string(intermediate_size) +
                                           ", num_hidden_layers " + std::to_string(num_hidden_layers) + ", vocab_size " +
                                           std::to_string(vocab_size) + ") give more parameters than can be counted"};
    return total;
}

void require_memory(double bytes, const std::string &what) {
    const double avail = available_memory();
    if (avail >= 0 && bytes > avail)
        throw Error{WMSS_ERR_OUT_OF_MEMORY, what + " needs " + gib(bytes) + " of memory, but only " + gib(avail) +
                                                " is available"};
}

void check_against_index(const ModelConfig &c, const TensorIndex &index, const std::string &where) {
    // The layer count first: a wrong num_hidden_layers would otherwise make a huge table of expected names.
    int64_t layers = 0;
    for (const auto &kv : index) {
        if (kv.first.rfind("model.layers.", 0) != 0) continue;
        try {
            layers = std::max<int64_t>(layers, std::stoll(kv.first.substr(13)) + 1);
        } catch (const std::exception &) {
        }
    }
    if (layers != c.num_hidden_layers)
        throw Error{WMSS_ERR_SHAPE, where + ": num_hidden_layers is " + std::to_string(c.num_hidden_layers) +
                                        " but the checkpoint holds " + std::to_string(layers) + " layer" +
                                        (layers == 1 ? "" : "s")};
    const auto embed = index.find("model.embed_tokens.weight");
    if (embed != index.end() && embed->second.shape.size() == 2 &&
        (embed->second.shape[0] != c.vocab_size || embed->second.shape[1] != c.hidden_size))
        throw Error{WMSS_ERR_SHAPE, where + ": vocab_size " + std::to_string(c.vocab_size) + " and hidden_size " +
                                        std::to_string(c.hidden_size) + " do not match model.embed_tokens.weight [" +
                                        std::to_string(embed->second.shape[0]) + ", " +
                                        std::to_string(embed->second.shape[1]) + "] in the checkpoint"};
    const auto shapes = c.parameter_shapes();
    auto dims = [](const std::vector<int64_t> &v) {
        std::string s = "[";
        for (size_t i = 0; i < v.size(); i++) s += (i ? ", " : "") + std::to_string(v[i]);
        return s + "]";
    };
    for (const auto &p : shapes) {
        const auto it = index.find(p.first);
        if (it == index.end()) throw Error{WMSS_ERR_ARGUMENT, "checkpoint lacks tensor " + p.first + " (" + where + ")"};
        if (it->second.shape != p.second)
            throw Error{WMSS_ERR_SHAPE, "tensor " + p.first + " has shape " + dims(it->second.shape) + ", " + where +
                                            " needs " + dims(p.second)};
    }
    for (const auto &kv : index) {
        if (shapes.count(kv.first)) continue;
        if (kv.first == "lm_head.weight" && c.tie_word_embeddings) continue; // some tied checkpoints store it
        if (kv.first.find("rotary_emb.inv_freq") != std::string::npos) continue; // older exports
        throw Error{WMSS_ERR_ARGUMENT, "checkpoint has tensor " + kv.first + " that " + where + " does not use"};
    }
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
    build([](std::vector<int64_t> shape, Fill f) {
        return f == Fill::Normal ? torch::randn(shape) * 0.02 : f == Fill::Ones ? torch::ones(shape) : torch::zeros(shape);
    });
}

Decoder::Decoder(const ModelConfig &c, const torch::Device &device) : cfg_(c), device_(device) {
    build([&](std::vector<int64_t> shape, Fill) {
        return torch::empty(shape, torch::TensorOptions().dtype(torch::kFloat32).device(device));
    });
}

void Decoder::load_weights(const std::string &dir) {
    read_checkpoint_into(dir, named_);
}

void Decoder::build(const std::function<torch::Tensor(std::vector<int64_t>, Fill)> &make) {
    const ModelConfig &c = cfg_;
    const int64_t H = c.hidden_size, hd = c.head_dim, nq = c.num_attention_heads * hd, nkv = c.num_key_value_heads * hd;
    auto normal = [&](std::vector<int64_t> shape) { return make(shape, Fill::Normal); };
    auto ones = [&](std::vector<int64_t> shape) { return make(shape, Fill::Ones); };
    auto zeros = [&](std::vector<int64_t> shape) { return make(shape, Fill::Zeros); };
    embed_ = register_parameter("model.embed_tokens.weight", normal({c.vocab_size, H}));
    for (int64_t i = 0; i < c.num_hidden_layers; i++) {
        const std::string p = "model.layers." + std::to_string(i) + ".";
        Layer l;
        l.in_norm = register_parameter(p + "input_layernorm.weight", ones({H}));
        l.q = register_parameter(p + "self_attn.q_proj.weight", normal({nq, H}));
        l.k = register_parameter(p + "self_attn.k_proj.weight", normal({nkv, H}));
        l.v = register_parameter(p + "self_attn.v_proj.weight", normal({nkv, H}));
        l.o = register_parameter(p + "self_attn.o_proj.weight", normal({H, nq}));
        if (c.attention_bias) {
            l.q_bias = register_parameter(p + "self_attn.q_proj.bias", zeros({nq}));
            l.k_bias = register_parameter(p + "self_attn.k_proj.bias", zeros({nkv}));
            l.v_bias = register_parameter(p + "self_attn.v_proj.bias", zeros({nkv}));
        }
        if (c.qk_norm) {
            l.q_norm = register_parameter(p + "self_attn.q_norm.weight", ones({hd}));
            l.k_norm = register_parameter(p + "self_attn.k_norm.weight", ones({hd}));
        }
        l.post_norm = register_parameter(p + "post_attention_layernorm.weight", ones({H}));
        l.gate = register_parameter(p + "mlp.gate_proj.weight", normal({c.intermediate_size, H}));
        l.up = register_parameter(p + "mlp.up_proj.weight", normal({c.intermediate_size, H}));
        l.down = register_parameter(p + "mlp.down_proj.weight", normal({H, c.intermediate_size}));
        layers_.push_back(l);
    }
    final_norm_ = register_parameter("model.norm.weight", ones({H}));
    if (!c.tie_word_embeddings) lm_head_ = register_parameter("lm_head.weight", normal({c.vocab_size, H}));
}

void Decoder::to(const torch::Device &device, c10::ScalarType compute) {
    if (compute != torch::kFloat32 && compute != torch::kBFloat16)
        throw Error{WMSS_ERR_DTYPE, "the compute dtype must be fp32 or bf16"};
    torch::NoGradGuard no_grad;
    // every copy first, then the swap: a move that fails (out of memory) leaves the model whole where it was
    std::vector<std::pair<torch::Tensor, torch::Tensor>> data, grads;
    for (auto &kv : named_) {
        torch::Tensor &p = kv.second;
        if (p.device() == device) continue;
        data.emplace_back(p, p.data().to(device));
        if (p.grad().defined()) grads.emplace_back(p, p.grad().to(device));
    }
    for (auto &d : data) d.first.set_data(d.second);
    for (auto &g : grads) g.first.mutable_grad() = g.second;
    device_ = device;
    compute_ = compute;
}

torch::Tensor Decoder::rms_norm(const torch::Tensor &x, const torch::Tensor &w) const {
    // the residual stream (fp32) or q and k (the compute dtype), with the fp32 master weight, out in the compute dtype
    return fused::rms_norm_to(x, w, cfg_.rms_norm_eps, compute_);
}

std::pair<torch::Tensor, torch::Tensor> Decoder::rotary(const torch::Tensor &pos, c10::ScalarType type) const {
    const auto inv_freq =
        1.0 / torch::pow(cfg_.rope_theta,
                         torch::arange(0, cfg_.head_dim, 2, torch::TensorOptions().dtype(torch::kFloat64).device(pos.device())) /
                             (double)cfg_.head_dim);
    const auto freqs = pos.to(torch::kFloat64).unsqueeze(-1) * inv_freq; // [B, T, hd/2]
    const auto emb = torch::cat({freqs, freqs}, -1).unsqueeze(1);        // [B, 1, T, hd]
    return {emb.cos().to(type), emb.sin().to(type)};
}

torch::Tensor Decoder::attention(const Layer &l, const torch::Tensor &x, const torch::Tensor &cos,
                                     const torch::Tensor &sin, const Mask &mask, KvCache *cache, size_t layer) const {
    const int64_t B = x.size(0), T = x.size(1), hd = cfg_.head_dim;
    const int64_t nh = cfg_.num_attention_heads, nkv = cfg_.num_key_value_heads;
    const auto qkv = fused::linears(x, {cast(l.q), cast(l.k), cast(l.v)}, {cast(l.q_bias), cast(l.k_bias), cast(l.v_bias)});
    auto q = qkv[0].view({B, T, nh, hd});
    auto k = qkv[1].view({B, T, nkv, hd});
    auto v = qkv[2].view({B, T, nkv, hd});
    if (cfg_.qk_norm) {
        q = rms_norm(q, l.q_norm);
        k = rms_norm(k, l.k_norm);
    }
    q = fused::rope(q.transpose(1, 2), cos, sin); // [B, nh, T, hd]
    k = fused::rope(k.transpose(1, 2), cos, sin);
    v = v.transpose(1, 2);
    if (cache) { // this call's keys and values go after the cached ones, and the queries see all of them
        cache->k[layer].narrow(2, cache->used, T).copy_(k);
        cache->v[layer].narrow(2, cache->used, T).copy_(v);
        k = cache->k[layer].narrow(2, 0, cache->used + T);
        v = cache->v[layer].narrow(2, 0, cache->used + T);
    }
    // grouped-query attention (each kv head serves nh / nkv query heads) with the causal + padding bias
    const double scale = 1.0 / std::sqrt((double)hd);
    torch::Tensor out;
    if (compat::kHasSdpa && q.is_cuda()) // libtorch's fused attention: flash when causal without a bias
        out = compat::sdpa(q, k, v, mask.bias, mask.causal, scale).transpose(1, 2).reshape({B, T, nh * hd});
    else
        out = fused::attention(q, k, v, mask.bias, scale);
    return torch::linear(out, cast(l.o));
}

torch::Tensor Decoder::block(size_t i, torch::Tensor x, const torch::Tensor &cos, const torch::Tensor &sin,
                             const Mask &mask, KvCache *cache) const {
    // the residual stream x stays fp32; the norms hand the products their input in the compute dtype
    const Layer &l = layers_[i];
    x = x + attention(l, rms_norm(x, l.in_norm), cos, sin, mask, cache, i);
    const auto h = rms_norm(x, l.post_norm);
    return x + torch::linear(fused::swiglu_linear(h, cast(l.gate), cast(l.up)), cast(l.down));
}

torch::Tensor Decoder::layer_forward(size_t i, const torch::Tensor &x, const torch::Tensor &cos, const torch::Tensor &sin,
                                     const torch::Tensor &bias, bool causal) const {
    Mask m;
    m.bias = bias;
    m.causal = causal;
    return block(i, x, cos, sin, m, nullptr);
}

std::vector<torch::Tensor> Decoder::layer_parameters(size_t i) const {
    const Layer &l = layers_.at(i);
    std::vector<torch::Tensor> out;
    for (const torch::Tensor *t : {&l.in_norm, &l.q, &l.k, &l.v, &l.o, &l.q_bias, &l.k_bias, &l.v_bias, &l.q_norm,
                                   &l.k_norm, &l.post_norm, &l.gate, &l.up, &l.down})
        if (t->defined()) out.push_back(*t);
    return out;
}

namespace {

/**
 * One decoder layer with its activations not kept (layer activation checkpointing): the forward runs without
 * autograd and saves the layer's input (and the attention inputs, which all layers share); the backward runs the
 * layer again with autograd on the saved input and returns the gradients of the input and of the layer's parameters,
 * which the engine then accumulates as it would have. The parameters are inputs of the function, so its output needs
 * gradients whenever the layer has trainable weights, whatever its input.
 */
struct LayerCheckpoint : public torch::autograd::Function<LayerCheckpoint> {
    static torch::Tensor forward(torch::autograd::AutogradContext *ctx, torch::Tensor x, torch::Tensor cos,
                                 torch::Tensor sin, torch::Tensor bias, at::TensorList params,
                                 const Decoder *decoder, int64_t layer, bool causal) {
        // an attention without a bias (causal on CUDA) comes as an empty placeholder: autograd's inputs are defined
        const torch::Tensor b = causal ? torch::Tensor() : bias;
        ctx->save_for_backward({x, cos, sin, bias});
        ctx->saved_data["decoder"] = reinterpret_cast<int64_t>(decoder);
        ctx->saved_data["layer"] = layer;
        ctx->saved_data["causal"] = causal;
        return decoder->layer_forward((size_t)layer, x, cos, sin, b, causal);
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                   torch::autograd::variable_list grad_out) {
        const auto saved = ctx->get_saved_variables();
        const auto *decoder = reinterpret_cast<const Decoder *>(ctx->saved_data["decoder"].toInt());
        const int64_t layer = ctx->saved_data["layer"].toInt();
        const bool causal = ctx->saved_data["causal"].toBool();
        const std::vector<torch::Tensor> params = decoder->layer_parameters((size_t)layer);
        const torch::Tensor x = saved[0].detach().requires_grad_(true);
        torch::autograd::variable_list inputs{x};
        for (const auto &p : params)
            if (p.requires_grad()) inputs.push_back(p);
        torch::autograd::variable_list grads;
        {
            torch::AutoGradMode enable(true);
            const torch::Tensor y = decoder->layer_forward((size_t)layer, x, saved[1], saved[2],
                                                           causal ? torch::Tensor() : saved[3], causal);
            grads = torch::autograd::grad({y}, inputs, {grad_out[0]}, /*retain_graph=*/false, /*create_graph=*/false,
                                          /*allow_unused=*/true);
        }
        // one gradient per input of forward, in its order: x, cos, sin, bias, each parameter, then the non-tensors
        torch::autograd::variable_list out{grads[0], torch::Tensor(), torch::Tensor(), torch::Tensor()};
        size_t k = 1;
        for (const auto &p : params) out.push_back(p.requires_grad() ? grads[k++] : torch::Tensor());
        for (int j = 0; j < 3; j++) out.emplace_back();
        return out;
    }
};

}  // namespace

torch::Tensor Decoder::mask_bias(const torch::Tensor &allowed) const {
    // a large negative (not -inf) keeps fully masked rows (padding queries) finite
    const auto options = torch::TensorOptions().dtype(compute_).device(allowed.device());
    return torch::where(allowed, torch::zeros({}, options), torch::full({}, -1e9, options)).unsqueeze(1);
}

torch::Tensor Decoder::forward(const torch::Tensor &ids, const torch::Tensor &mask) {
    return torch::linear(hidden(ids, mask), cast(head_weight())).to(torch::kFloat32);
}

torch::Tensor Decoder::hidden(const torch::Tensor &ids_in, const torch::Tensor &mask_in) {
    // ids and mask may come from the host: they go to the model's device once, and whether every row is its real
    // tokens followed by padding (or none) is read where it costs no device synchronisation. Then causal attention
    // without a mask is exact for every real token (padding only ever follows it), which lets libtorch's flash
    // attention run on CUDA; the padding rows' own outputs differ, and no loss reads them.
    bool right_padded = false;
    if (mask_in.is_cpu()) {
        const auto real = mask_in.ne(0).to(torch::kInt64);
        const auto lengths = real.sum(1, true);
        const auto prefix = torch::arange(real.size(1), torch::kInt64).unsqueeze(0).lt(lengths).to(torch::kInt64);
        right_padded = torch::equal(real, prefix);
    }
    const torch::Tensor ids = ids_in.to(device_), mask = mask_in.to(device_);
    const int64_t T = ids.size(1);
    // The embedding's backward adds a sparse update into a dense gradient (the fused head's, for a tied head; or
    // one the optimizer step zeroed): no transient dense [V, H] gradient, which at a real vocabulary is the size of
    // the embedding itself. Without a gradient yet (the first step of a process: a new or a resumed run) a zero one
    // is made, so that every step sums in the same order and a resumed run is bit-identical to an uninterrupted one.
    const bool sparse = torch::GradMode::is_enabled() && embed_.requires_grad() &&
                        !(embed_.grad().defined() && embed_.grad().is_sparse());
    if (sparse && !embed_.grad().defined()) embed_.mutable_grad() = torch::zeros_like(embed_);
    auto x = torch::embedding(embed_, ids, -1, false, sparse);
    // Positions count real tokens, so left and right padding both work; padding keys are masked out.
    const auto m = mask.to(torch::kInt64);
    const auto [cos, sin] = rotary((m.cumsum(1) - 1).clamp_min(0), compute_);
    Mask attend;
    if (right_padded && compat::kHasSdpa && ids.is_cuda()) {
        attend.causal = true; // the fused attention masks causally by itself
    } else {
        const auto causal = torch::ones({T, T}, torch::TensorOptions().dtype(torch::kBool).device(device_)).tril();
        attend.bias = mask_bias(causal.unsqueeze(0) & m.to(torch::kBool).unsqueeze(1)); // [B, 1, T, T]
    }
    // the last layer is never checkpointed: its backward comes first, so keeping its activations costs one layer's
    // worth (a constant, not per layer) and saves recomputing it
    const bool grad = torch::GradMode::is_enabled();
    for (size_t i = 0; i < layers_.size(); i++) {
        std::vector<torch::Tensor> params;
        if (checkpointing_ && grad && i + 1 < layers_.size()) params = layer_parameters(i);
        const bool trained = std::any_of(params.begin(), params.end(), [](const torch::Tensor &p) { return p.requires_grad(); });
        // the parameters as a TensorList: each one an input of its own (a std::vector would be one opaque argument)
        x = trained ? LayerCheckpoint::apply(x, cos, sin, attend.causal ? torch::empty({0}, cos.options()) : attend.bias,
                                             at::TensorList(params), this, (int64_t)i, attend.causal)
                    : block(i, x, cos, sin, attend, nullptr);
    }
    return rms_norm(x, final_norm_);
}

void KvCache::select_rows(const torch::Tensor &keep_in) {
    const torch::Tensor keep = keep_in.to(mask.device());
    for (auto &t : k) t = t.index_select(0, keep);
    for (auto &t : v) t = t.index_select(0, keep);
    mask = mask.index_select(0, keep);
    count = count.index_select(0, keep);
}

torch::Tensor Decoder::extend(const torch::Tensor &ids_in, const torch::Tensor &mask_in, KvCache &c, int64_t capacity) {
    torch::NoGradGuard no_grad;
    const torch::Tensor ids = ids_in.to(device_), mask = mask_in.to(device_);
    const int64_t B = ids.size(0), T = ids.size(1), L0 = c.used;
    if (c.k.empty()) {
        c.capacity = capacity;
        const auto opts = torch::TensorOptions().dtype(compute_).device(device_);
        for (size_t i = 0; i < layers_.size(); i++) {
            c.k.push_back(torch::empty({B, cfg_.num_key_value_heads, capacity, cfg_.head_dim}, opts));
            c.v.push_back(torch::empty({B, cfg_.num_key_value_heads, capacity, cfg_.head_dim}, opts));
        }
        c.count = torch::zeros({B}, torch::TensorOptions().dtype(torch::kInt64).device(device_));
    }
    if (L0 + T > c.capacity)
        throw Error{WMSS_ERR_SHAPE, "KV cache of " + std::to_string(c.capacity) + " slots cannot take " +
                                        std::to_string(L0 + T) + " tokens"};
    auto x = torch::embedding(embed_, ids);
    const auto m = mask.to(torch::kInt64);
    // positions count real tokens (as hidden() does): the row's tokens so far, then this call's
    const auto [cos, sin] = rotary((c.count.unsqueeze(1) + m.cumsum(1) - 1).clamp_min(0), compute_);
    const auto all = L0 ? torch::cat({c.mask, m}, 1) : m; // [B, L0 + T]
    const auto causal = torch::ones({T, L0 + T}, torch::TensorOptions().dtype(torch::kBool).device(device_))
                            .tril(L0); // query t sees slots <= L0 + t
    Mask attend;
    attend.bias = mask_bias(causal.unsqueeze(0) & all.to(torch::kBool).unsqueeze(1));
    for (size_t i = 0; i < layers_.size(); i++) x = block(i, x, cos, sin, attend, &c);
    c.mask = all;
    c.count = c.count + m.sum(1);
    c.used = L0 + T;
    return rms_norm(x, final_norm_);
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
