// A decoder-only transformer of the Llama / Qwen2 / Qwen3 family on libtorch, with Hugging Face parameter names.
#pragma once
#include <torch/torch.h>

#include <functional>
#include <string>

#include "safetensors.h"

namespace wmss {

/** The fields of a Hugging Face config.json this model reads. */
struct ModelConfig {
    std::string model_type = "qwen3";
    int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0;
    int64_t num_attention_heads = 0, num_key_value_heads = 0, head_dim = 0, max_position_embeddings = 0;
    double rms_norm_eps = 1e-6, rope_theta = 10000.0;
    bool tie_word_embeddings = false, attention_bias = false, qk_norm = false;
    /** The config.json text this was parsed from (empty for a config made here): saving keeps its every field. */
    std::string source_json;

    static ModelConfig parse(const std::string &json_text, const std::string &where);
    /**
     * config.json as Hugging Face writes it, torch_dtype the dtype the weights are saved in: the source's every field
     * (bos/eos token ids, rope_scaling, generation fields, ...) with only the dtype changed, or, for a config made
     * here, the fields this model reads.
     */
    std::string to_json(const char *torch_dtype = "float32") const;
    /** Every parameter's Hugging Face name and shape, as the Decoder builds them (nothing is allocated). */
    std::map<std::string, std::vector<int64_t>> parameter_shapes() const;
    /** The number of parameters, computed without allocating; throws naming the sizes if it overflows. */
    int64_t parameter_count(const std::string &where) const;
};

/**
 * Compares a config with a checkpoint's tensor index before anything is allocated: the layer count, vocab and
 * hidden size, then every name and shape. Throws naming the config field and what the checkpoint holds.
 */
void check_against_index(const ModelConfig &c, const TensorIndex &index, const std::string &where);

/**
 * Throws, saying how much is needed and how much there is, unless `bytes` fit in the memory available now
 * (MemAvailable, and the cgroup's limit where one is set). Does nothing where neither can be read.
 */
void require_memory(double bytes, const std::string &what);

/**
 * Keys and values of every layer for the tokens seen so far (inference only: Decoder::extend fills it), so that a
 * decoding step runs the new token alone. Columns are token slots; mask says which hold a real token (prompts are
 * left-padded), count how many real tokens each row has (the next position).
 */
struct KvCache {
    std::vector<torch::Tensor> k, v; // per layer [B, n_kv_heads, capacity, head_dim], rotary embedding applied
    torch::Tensor mask;              // [B, used] int64
    torch::Tensor count;             // [B] int64
    int64_t used = 0, capacity = 0;
    /** Keeps the rows `keep` ([B'] int64 indices), e.g. once the others have finished decoding. */
    void select_rows(const torch::Tensor &keep);
};

class Decoder {
  public:
    /** A model initialised at random on the CPU (normal(0, 0.02) weights, unit norms): the same seed, the same weights. */
    explicit Decoder(const ModelConfig &c);
    /**
     * A model whose parameters are allocated on device and left uninitialised, for a checkpoint to fill
     * (load_weights): no random weights are made, and nothing is held twice.
     */
    Decoder(const ModelConfig &c, const torch::Device &device);
    /** Reads a checkpoint directory's weights straight into the parameters, one tensor at a time (read_checkpoint_into). */
    void load_weights(const std::string &dir);
    /** ids, mask: [B, T] int64 (mask 1 = token, 0 = padding). Returns logits [B, T, V] fp32. */
    torch::Tensor forward(const torch::Tensor &ids, const torch::Tensor &mask);
    /** The same forward stopped after the final norm: hidden states [B, T, H] (what the head multiplies). */
    torch::Tensor hidden(const torch::Tensor &ids, const torch::Tensor &mask);
    /**
     * Runs ids [B, T] (mask [B, T]) after the tokens already in the cache, appends their keys and values (the cache is
     * allocated for `capacity` slots on the first call) and returns their final-norm hidden states [B, T, H]. Without
     * gradients; the math of hidden() on the whole sequence.
     */
    torch::Tensor extend(const torch::Tensor &ids, const torch::Tensor &mask, KvCache &cache, int64_t capacity);
    /** The head's weight [V, H]: lm_head, or the embedding when tied (then its gradient is the embedding's). */
    const torch::Tensor &head_weight() const { return cfg_.tie_word_embeddings ? embed_ : lm_head_; }
    /**
     * Moves every parameter (and its gradient) to device in place (the tensors keep their identity, so optimizer
     * state and views stay attached) and sets the compute dtype: fp32, or bf16 matrix products and activations with
     * the fp32 parameters as master weights (each forward casts them; their gradients arrive in fp32).
     */
    void to(const torch::Device &device, c10::ScalarType compute);
    const torch::Device &device() const { return device_; }
    c10::ScalarType compute_dtype() const { return compute_; }
    /** t in the compute dtype (a no-op in fp32); autograd records the cast, so gradients reach t in its own dtype. */
    torch::Tensor cast(const torch::Tensor &t) const {
        return !t.defined() || t.scalar_type() == compute_ ? t : t.to(compute_);
    }
    const ModelConfig &config() const { return cfg_; }
    /**
     * Layer activation checkpointing: with it on, a forward with gradients keeps each decoder layer's input only and
     * runs the layer again in the backward (its weights' casts included) to take the layer's gradients; memory for a
     * layer's saved activations falls to its input (4 x hidden bytes per token), at the cost of one more forward of
     * the layers but the last (its activations are kept: its backward comes first). The gradients are the same, bit
     * for bit (the same operations on the same inputs). Layers without a trainable parameter (a frozen model) and
     * forwards without gradients are not affected.
     */
    void set_checkpointing(bool on) { checkpointing_ = on; }
    bool checkpointing() const { return checkpointing_; }
    /** Decoder layer i on x, with the attention inputs as hidden() makes them (what a checkpointed layer re-runs). */
    torch::Tensor layer_forward(size_t i, const torch::Tensor &x, const torch::Tensor &cos, const torch::Tensor &sin,
                                const torch::Tensor &bias, bool causal) const;
    /** The parameters of decoder layer i that exist (a fixed order). */
    std::vector<torch::Tensor> layer_parameters(size_t i) const;
    /** Every parameter under its Hugging Face name (the tied head appears once, as the embedding). */
    const TensorMap &named() const { return named_; }
    std::vector<torch::Tensor> parameters() const;
    /** Copies a checkpoint in; throws naming the first missing, unexpected or mis-shaped tensor. */
    void load_state(const TensorMap &tensors);

  private:
    /** Who may attend to whom: an additive bias [B, 1, T, S], or none where every row is causal without padding. */
    struct Mask {
        torch::Tensor bias; // undefined: plain causal (only where fused attention takes is_causal)
        bool causal = false;
    };
    struct Layer {
        torch::Tensor in_norm, q, k, v, o, q_bias, k_bias, v_bias, q_norm, k_norm, post_norm, gate, up, down;
    };
    ModelConfig cfg_;
    bool checkpointing_ = false;
    torch::Device device_ = torch::kCPU;
    c10::ScalarType compute_ = torch::kFloat32;
    TensorMap named_; // libtorch's Module forbids dots in names, so the parameters are kept here
    torch::Tensor embed_, final_norm_, lm_head_;
    std::vector<Layer> layers_;
    /** RMSNorm of x with weight w, in the compute dtype (the statistics in fp32 whatever x's dtype). */
    torch::Tensor rms_norm(const torch::Tensor &x, const torch::Tensor &w) const;
    /** The additive attention bias [B, 1, T(q), T(k)] in the compute dtype of a boolean [B, T(q), T(k)] "may attend". */
    torch::Tensor mask_bias(const torch::Tensor &allowed) const;
    /** cos and sin [B, 1, T, head_dim] of the rotary embedding at positions pos [B, T]. */
    std::pair<torch::Tensor, torch::Tensor> rotary(const torch::Tensor &pos, c10::ScalarType type) const;
    /** Self-attention of one layer; with a cache, after the tokens in it (and this call's keys and values appended). */
    torch::Tensor attention(const Layer &l, const torch::Tensor &x, const torch::Tensor &cos, const torch::Tensor &sin,
                            const Mask &mask, KvCache *cache, size_t layer) const;
    /** Decoder layer i: attention and MLP, each with its pre-norm and residual. */
    torch::Tensor block(size_t i, torch::Tensor x, const torch::Tensor &cos, const torch::Tensor &sin, const Mask &mask,
                        KvCache *cache) const;
    torch::Tensor register_parameter(const std::string &name, torch::Tensor t);
    enum class Fill { Normal, Ones, Zeros };
    /** Builds every parameter with make(shape, how it would be initialised). */
    void build(const std::function<torch::Tensor(std::vector<int64_t>, Fill)> &make);
};

}  // namespace wmss

struct wmss_torch_model;

namespace wmss {
/** The parameters of a model handle under their Hugging Face names (for the data-parallel layer, dist.cpp). */
const TensorMap &model_parameters(wmss_torch_model *m);
}  // namespace wmss
