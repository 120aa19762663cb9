// wmss_torch_ce_mix_ref: the ce_mix contract computed with libtorch's own ops and autograd, as a reference.
#include <torch/torch.h>

#include <cmath>

#include "error.h"
#include "threads.h"
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

extern "C" int wmss_torch_ce_mix_ref(const wmss_ce_mix_args *args) {
    return wmss::torch_guard("wmss_torch_ce_mix_ref", [&] {
        if (!args) throw wmss::Error{WMSS_ERR_NULL_POINTER, "the argument descriptor is NULL"};
        // The same validation as every other backend (libwmss's), before anything is read or written.
        if (const int st = wmss_ce_mix_check(args)) throw wmss::Error{st, wmss_last_error()};
        const wmss_ce_mix_args &a = *args;
        const auto t = scalar_type(a.dtype);
        wmss::use_all_cores();
        torch::AutoGradMode grad_mode(true);
        const int64_t rows = a.rows, vocab = a.vocab;
        // fp32 leaves, like an fp32-accumulating training step on bf16 logits.
        auto zs = view(a.z_strong, rows, vocab, a.ld_strong, t).to(torch::kFloat32).detach().requires_grad_(true);
        auto zw = view(a.z_weak, rows, vocab, a.ld_weak, t).to(torch::kFloat32).detach().requires_grad_(true);
        // lambda = 0 / 1 take one input only (0 * -inf would be NaN), as the kernels do.
        const float lambda = a.lambda;
        torch::Tensor zmix = lambda == 1.0f   ? zs * 1.0
                             : lambda == 0.0f ? zw * 1.0
                                              : zs * static_cast<double>(lambda) + zw * (1.0 - lambda);
        auto y = torch::from_blob(const_cast<int64_t *>(a.labels), {rows}, torch::kInt64);
        auto logp = torch::log_softmax(zmix, -1);
        auto row_loss = torch::nll_loss(logp, y, {}, at::Reduction::None, WMSS_IGNORE_INDEX);
        (row_loss.sum() * static_cast<double>(a.inv_norm)).backward();
        torch::NoGradGuard no_grad;
        torch::from_blob(a.loss, {rows}, torch::kFloat32).copy_(row_loss);
        if (a.lse) torch::from_blob(a.lse, {rows}, torch::kFloat32).copy_(torch::logsumexp(zmix, -1));
        if (a.entropy) {
            auto p = logp.exp();
            torch::from_blob(a.entropy, {rows}, torch::kFloat32)
                .copy_(-torch::where(p > 0, p * logp, torch::zeros_like(p)).sum(-1));
        }
        store_grad(zs, a.grad_strong, a.ld_grad_strong, t);
        store_grad(zw, a.grad_weak, a.ld_grad_weak, t);
        // The contract's NaN policy: a labelled row with a non-finite loss, or any row whose wanted statistics are
        // not finite, fails the call (outputs written) unless WMSS_FLAG_ALLOW_NONFINITE.
        if (!(a.flags & WMSS_FLAG_ALLOW_NONFINITE)) {
            auto bad = ~torch::isfinite(row_loss) & (y != WMSS_IGNORE_INDEX);
            if (a.lse || a.entropy) bad = bad | ~torch::isfinite(torch::logsumexp(zmix, -1));
            const auto rows_bad = bad.nonzero();
            if (rows_bad.numel() > 0)
                throw wmss::Error{WMSS_ERR_NONFINITE, "row " + std::to_string(rows_bad[0][0].item<int64_t>()) +
                                                          " is not finite (NaN or +inf logits, all logits -inf, or the "
                                                          "label's logit is -inf)"};
        }
    });
}
