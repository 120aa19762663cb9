// wmss_torch_ce_mix_ref: the ce_mix contract computed with libtorch's own ops and autograd, as a reference.
#include <torch/torch.h>

#include "error.h"
#include "wmss_torch.h"

namespace {

torch::ScalarType scalar_type(int dtype) {
    if (dtype == WMSS_DTYPE_F32) return torch::kFloat32;
    if (dtype == WMSS_DTYPE_BF16) return torch::kBFloat16;
    throw wmss::Error{WMSS_ERR_DTYPE, "unknown dtype " + std::to_string(dtype)};
}

/** A view of caller memory as [rows, vocab] with row stride ld (no copy). */
torch::Tensor view(const void *p, int64_t rows, int64_t vocab, int64_t ld, torch::ScalarType t) {
    return torch::from_blob(const_cast<void *>(p), {rows, vocab}, {ld, 1}, torch::TensorOptions().dtype(t));
}

void store_grad(const torch::Tensor &leaf, void *out, int64_t ld, torch::ScalarType t) {
    if (!out) return;
    torch::Tensor dst = view(out, leaf.size(0), leaf.size(1), ld, t);
    if (leaf.grad().defined())
        dst.copy_(leaf.grad());
    else
        dst.zero_();
}

}  // namespace

extern "C" int wmss_torch_ce_mix_ref(int dtype, int64_t rows, int64_t vocab, const void *z_strong, int64_t ld_strong,
                                     const void *z_weak, int64_t ld_weak, const int64_t *labels, float lambda,
                                     float inv_norm, float *loss, void *grad_strong, int64_t ld_grad_strong,
                                     void *grad_weak, int64_t ld_grad_weak, float *lse, float *entropy) {
    return wmss::torch_guard("wmss_torch_ce_mix_ref", [&] {
        if (!z_strong || !z_weak || !labels || !loss) throw wmss::Error{WMSS_ERR_NULL_POINTER, "a required pointer is NULL"};
        const auto t = scalar_type(dtype);
        torch::AutoGradMode grad_mode(true);
        // fp32 leaves, like an fp32-accumulating training step on bf16 logits.
        auto zs = view(z_strong, rows, vocab, ld_strong, t).to(torch::kFloat32).detach().requires_grad_(true);
        auto zw = view(z_weak, rows, vocab, ld_weak, t).to(torch::kFloat32).detach().requires_grad_(true);
        // lambda = 0 / 1 take one input only (0 * -inf would be NaN), as the kernels do.
        torch::Tensor zmix = lambda == 1.0f   ? zs * 1.0
                             : lambda == 0.0f ? zw * 1.0
                                              : zs * static_cast<double>(lambda) + zw * (1.0 - lambda);
        auto y = torch::from_blob(const_cast<int64_t *>(labels), {rows}, torch::kInt64);
        auto logp = torch::log_softmax(zmix, -1);
        auto row_loss = torch::nll_loss(logp, y, {}, at::Reduction::None, WMSS_IGNORE_INDEX);
        (row_loss.sum() * static_cast<double>(inv_norm)).backward();
        torch::NoGradGuard no_grad;
        torch::from_blob(loss, {rows}, torch::kFloat32).copy_(row_loss);
        if (lse) torch::from_blob(lse, {rows}, torch::kFloat32).copy_(torch::logsumexp(zmix, -1));
        if (entropy) {
            auto p = logp.exp();
            torch::from_blob(entropy, {rows}, torch::kFloat32)
                .copy_(-torch::where(p > 0, p * logp, torch::zeros_like(p)).sum(-1));
        }
        store_grad(zs, grad_strong, ld_grad_strong, t);
        store_grad(zw, grad_weak, ld_grad_weak, t);
    });
}
