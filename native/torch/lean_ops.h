// The decoder's elementwise ops off the CPU's fp32 kernels (on CUDA, or in bf16): libtorch's own ops inside autograd
// functions that save only what their backward needs (lean_ops.cpp). The composite chains they replace save every
// intermediate (RMSNorm: an fp32 copy of its input and the normalised result; SwiGLU: silu(gate) beside gate and up),
// which in bf16 training of a Qwen3-0.6B-shaped model is about 200 MB per layer and model at 8192 tokens.
#pragma once
#include <torch/torch.h>

namespace wmss::lean {

/** x * rsqrt(mean(x^2, -1) + eps) * w in fp32 arithmetic, returned in dtype out; saves x, w and the [.., 1] rstd. */
torch::Tensor rms_norm(const torch::Tensor &x, const torch::Tensor &w, double eps, c10::ScalarType out);

/** silu(gu[..., :I]) * gu[..., I:] for the gate and up halves of one product [.., 2I]; saves gu only. */
torch::Tensor swiglu_halves(const torch::Tensor &gu);

}  // namespace wmss::lean
