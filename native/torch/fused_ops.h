// The decoder's elementwise work fused into one pass forward and one backward each (fused_ops.cpp): RMSNorm, rotary
// embeddings, SwiGLU, and attention as grouped batched products around a fused scaled, masked softmax. Every op
// falls back to libtorch's composite ops (the reference) when fused ops are switched off, for other dtypes than
// fp32 and off the CPU.
#pragma once
#include <torch/torch.h>

namespace wmss::fused {

/** Process-wide switch (wmss_torch_set_fused_ops): on by default; off = the composite reference ops. */
bool enabled();
void set_enabled(bool on);

/** x * rsqrt(mean(x^2, -1) + eps) * w over the last dimension. */
torch::Tensor rms_norm(const torch::Tensor &x, const torch::Tensor &w, double eps);

/**
 * The same in dtype out, for any x and w dtypes (w: e.g. the fp32 master weight of a bf16 model): the CPU kernel for
 * fp32, the lean autograd function (lean_ops.h) elsewhere, the composite ops (w cast to x's dtype, then the result to
 * out) when the fused ops are off.
 */
torch::Tensor rms_norm_to(const torch::Tensor &x, const torch::Tensor &w, double eps, c10::ScalarType out);

/** x * cos + rotate_half(x) * sin for x [B, n, T, d] (any strides), cos and sin [B, 1, T, d]; a contiguous result. */
torch::Tensor rope(const torch::Tensor &x, const torch::Tensor &cos, const torch::Tensor &sin);

/** silu(gate) * up. */
torch::Tensor swiglu(const torch::Tensor &gate, const torch::Tensor &up);

/**
 * linear(x, w[i], b[i]) for each i (b[i] may be undefined), as one matrix product with the weights stacked (the
 * input is read and packed once, and its gradient is one product instead of a sum of several); the outputs are
 * column blocks of that product (strided views).
 */
std::vector<torch::Tensor> linears(const torch::Tensor &x, const std::vector<torch::Tensor> &w,
                                   const std::vector<torch::Tensor> &b);

/** silu(linear(x, gate)) * linear(x, up): one product for both, and the SwiGLU read from its two halves. */
torch::Tensor swiglu_linear(const torch::Tensor &x, const torch::Tensor &gate, const torch::Tensor &up);

/**
 * softmax(q k^T * scale + bias) v for q [B, nh, T, d], k and v [B, nkv, T, d] (nh a multiple of nkv: each kv head
 * serves nh / nkv query heads) and an additive bias [B, 1, T, T]; returns [B, T, nh * d].
 */
torch::Tensor attention(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v, const torch::Tensor &bias,
                        double scale);

}  // namespace wmss::fused
