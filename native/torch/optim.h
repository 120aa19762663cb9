// The optimizer step of a model (optim.cpp).
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

#include "safetensors.h"

namespace wmss {

/**
 * The fused CUDA AdamW's step counters, as fp32 tensors on the device (the kernel reads them there); derived from the
 * host step counts of libtorch's AdamW state, which stay the record that is saved and loaded. Reset whenever the
 * state is replaced or moved.
 */
struct DeviceSteps {
    std::map<const void *, torch::Tensor> steps;
};

/** The global gradient norm as clip_grad_norm_ forms it (each parameter's fp32 2-norm, then the 2-norm of those). */
double grad_norm(const std::vector<torch::Tensor> &params);

/**
 * clip_grad_norm_(params, max_grad_norm) (<= 0: no clipping), one AdamW step at lr, zero_grad. Returns the global
 * gradient norm before clipping. A non-finite norm (NaN or inf in a gradient) is an error and the step is not taken.
 * Three paths with the same arithmetic: every parameter fp32 on the CPU (and the fused ops on): one pass per
 * parameter after the norm; on a CUDA device with libtorch >= 2.4: the norm, the clip and PyTorch's multi-tensor
 * fused AdamW on the device, with one read of the norm at the end; else libtorch's own clip and step.
 */
double adamw_step(torch::optim::AdamW &opt, DeviceSteps &steps, const std::vector<torch::Tensor> &params, double lr,
                  double max_grad_norm);

/** One fp32 AdamW update's constants, as libtorch 1.13's AdamW::step and clip_grad_norm_ form them. */
struct AdamWCoefficients {
    float clip, decay, beta1, one_minus_beta1, beta2, one_minus_beta2, inv_sqrt_bc2, eps, neg_step_size;
    bool scale_grad;
};

/** The constants of step `step` (1-based) with the clip coefficient clip_coef (applied when < 1). */
AdamWCoefficients adamw_coefficients(const torch::optim::AdamWOptions &o, int64_t step, float clip_coef);

/** clip_grad_norm_'s coefficient: max / (norm + 1e-6), with no clip (max_grad_norm <= 0) as the largest float. */
float clip_coefficient(double max_grad_norm, float total_norm);

/**
 * n fp32 elements of a parameter p, its gradient g and moments m, v updated in one pass (the gradient clipped and
 * zeroed): the arithmetic of the fused CPU step, element by element, over any contiguous range.
 */
void adamw_update_range(float *p, float *g, float *m, float *v, int64_t n, const AdamWCoefficients &c);

/** The optimizer file's format: the AdamW state keyed by parameter name, host tensors (optim.cpp). */
constexpr int64_t kOptimizerFormat = 1;

/** Writes opt's state by parameter name (named: the model's parameters), any device, any libtorch version. */
void save_adamw(torch::optim::AdamW &opt, const TensorMap &named, torch::serialize::OutputArchive &archive);
/**
 * Replaces opt's state with the file's (its tensors on each parameter's device), checking names and shapes; reads
 * libtorch's own format of older files where this libtorch wrote it (1.13), and refuses it otherwise (path: for
 * messages).
 */
void load_adamw(torch::optim::AdamW &opt, const TensorMap &named, torch::serialize::InputArchive &archive,
                const std::string &path);
/** Moves the AdamW moments to device (after a load, or when the model moves). */
void adamw_state_to(torch::optim::AdamW &opt, const torch::Device &device);

}  // namespace wmss
