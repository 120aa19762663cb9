// Lean autograd functions (lean_ops.h): libtorch's ops in forward and backward, fp32 arithmetic, minimal saves.
#include "lean_ops.h"

namespace wmss::lean {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct RmsNorm : public torch::autograd::Function<RmsNorm> {
    static torch::Tensor forward(AutogradContext *ctx, const torch::Tensor &x, const torch::Tensor &w, double eps,
                                 int64_t out) {
        const torch::Tensor x32 = x.to(torch::kFloat32);
        const torch::Tensor rstd = torch::rsqrt(x32.pow(2).mean(-1, true) + eps);
        ctx->save_for_backward({x, w, rstd});
        return (x32 * rstd * w.to(torch::kFloat32)).to(static_cast<c10::ScalarType>(out));
    }

    static variable_list backward(AutogradContext *ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &w = saved[1], &rstd = saved[2];
        const torch::Tensor g = grads[0].to(torch::kFloat32), xhat = x.to(torch::kFloat32) * rstd;
        const int64_t H = x.size(-1);
        const torch::Tensor gw = (g * xhat).reshape({-1, H}).sum(0).to(w.scalar_type());
        const torch::Tensor gxhat = g * w.to(torch::kFloat32);
        const torch::Tensor gx = rstd * (gxhat - xhat * (gxhat * xhat).mean(-1, true));
        return {gx.to(x.scalar_type()), gw, torch::Tensor(), torch::Tensor()};
    }
};

/** silu(g) * u on the two halves of one product; the backward as libtorch's ops compute it, saving gu alone. */
struct SwiGluHalves : public torch::autograd::Function<SwiGluHalves> {
    static torch::Tensor forward(AutogradContext *ctx, const torch::Tensor &gu) {
        const int64_t I = gu.size(-1) / 2;
        ctx->save_for_backward({gu});
        const torch::Tensor g = gu.narrow(-1, 0, I), u = gu.narrow(-1, I, I);
        return torch::silu(g) * u;
    }

    static variable_list backward(AutogradContext *ctx, variable_list grads) {
        // libtorch's own silu_backward (one pass, fp32 arithmetic inside) writes the gate half, silu(g) * dy the up
        // half: four passes in the activations' dtype, no fp32 copies
        const torch::Tensor gu = ctx->get_saved_variables()[0];
        const int64_t I = gu.size(-1) / 2;
        const torch::Tensor g = gu.narrow(-1, 0, I), u = gu.narrow(-1, I, I), gy = grads[0];
        torch::Tensor out = torch::empty_like(gu);
        torch::Tensor dg = out.narrow(-1, 0, I), du = out.narrow(-1, I, I);
        at::silu_backward_out(dg, gy * u, g);
        at::mul_out(du, gy, torch::silu(g));
        return {out};
    }
};

}  // namespace

torch::Tensor rms_norm(const torch::Tensor &x, const torch::Tensor &w, double eps, c10::ScalarType out) {
    return RmsNorm::apply(x, w, eps, static_cast<int64_t>(out));
}

torch::Tensor swiglu_halves(const torch::Tensor &gu) { return SwiGluHalves::apply(gu); }

}  // namespace wmss::lean
