// The optimizer step of a model (optim.cpp).
#pragma once
#include <torch/torch.h>

#include <vector>

namespace wmss {

/**
 * clip_grad_norm_(params, max_grad_norm) (<= 0: no clipping), one AdamW step at lr, zero_grad: fused into one pass per
 * parameter after the norm (when the fused ops are on and every parameter is fp32 on the CPU). Returns the global
 * gradient norm before clipping.
 */
/** The global gradient norm as clip_grad_norm_ forms it (each parameter's fp32 2-norm, then the 2-norm of those). */
double grad_norm(const std::vector<torch::Tensor> &params);

double adamw_step(torch::optim::AdamW &opt, const std::vector<torch::Tensor> &params, double lr, double max_grad_norm);

}  // namespace wmss
