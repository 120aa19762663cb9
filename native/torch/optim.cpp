// One optimizer step in two passes over the parameters instead of about fifteen: the global gradient norm (one read
// of every gradient), then per parameter a single pass that applies the clipping factor, the decoupled weight
// decay, both AdamW moments and the update, and zeroes the gradient. The state lives in libtorch's AdamW object
// (same keys, same tensors, same step counts), so its save / load and libtorch's own step stay interchangeable; the
// arithmetic follows libtorch 1.13's AdamW::step and clip_grad_norm_ operation by operation. Parameters that are
// not fp32 on the CPU, or AMSGrad, take libtorch's own path.
#include "optim.h"

#include <ATen/Parallel.h>

#include <cmath>
#include <limits>
#include <vector>

#include "fused_ops.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WMSS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WMSS_CLONES
#endif

namespace {

WMSS_CLONES double sum_squares(const float *__restrict g, int64_t n) {
    double acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) acc[l] += (double)g[i + l] * (double)g[i + l];
    double s = 0;
    for (int l = 0; l < 8; l++) s += acc[l];
    for (; i < n; i++) s += (double)g[i] * (double)g[i];
    return s;
}

struct Coefficients {
    float clip, decay, beta1, one_minus_beta1, beta2, one_minus_beta2, inv_sqrt_bc2, eps, neg_step_size;
    bool scale_grad;
};

WMSS_CLONES void adamw_update(float *__restrict p, float *__restrict g, float *__restrict m, float *__restrict v,
                              int64_t n, Coefficients c) {
    for (int64_t i = 0; i < n; i++) {
        const float gi = c.scale_grad ? g[i] * c.clip : g[i];
        const float pi = p[i] * c.decay;
        const float mi = m[i] * c.beta1 + gi * c.one_minus_beta1;
        const float vi = v[i] * c.beta2 + c.one_minus_beta2 * (gi * gi);
        const float denom = std::sqrt(vi) * c.inv_sqrt_bc2 + c.eps;
        p[i] = pi + c.neg_step_size * (mi / denom);
        m[i] = mi;
        v[i] = vi;
        g[i] = 0.0f;
    }
}

bool fusable(const std::vector<torch::Tensor> &params, const torch::optim::AdamW &opt) {
    if (!wmss::fused::enabled()) return false;
    for (const auto &group : opt.param_groups())
        if (static_cast<const torch::optim::AdamWOptions &>(group.options()).amsgrad()) return false;
    for (const auto &p : params) {
        if (!p.grad().defined()) continue;
        if (p.scalar_type() != torch::kFloat32 || !p.device().is_cpu() || !p.is_contiguous() ||
            p.grad().scalar_type() != torch::kFloat32 || !p.grad().is_contiguous() || p.grad().is_sparse())
            return false;
    }
    return true;
}

}  // namespace

double wmss::grad_norm(const std::vector<torch::Tensor> &params) {
    bool cpu_f32 = true;
    for (const auto &p : params)
        if (p.grad().defined() && (p.grad().scalar_type() != torch::kFloat32 || !p.grad().device().is_cpu() ||
                                   !p.grad().is_contiguous() || p.grad().is_sparse()))
            cpu_f32 = false;
    double total_sq = 0;
    for (const auto &p : params) {
        const torch::Tensor &g = p.grad();
        if (!g.defined()) continue;
        float norm_p; // libtorch keeps each parameter's norm in fp32
        if (cpu_f32) {
            const float *gp = g.data_ptr<float>();
            std::vector<double> parts(at::get_num_threads(), 0.0);
            at::parallel_for(0, g.numel(), 65536,
                             [&](int64_t b, int64_t e) { parts[at::get_thread_num()] += sum_squares(gp + b, e - b); });
            double sq = 0;
            for (double s : parts) sq += s;
            norm_p = (float)std::sqrt(sq);
        } else {
            norm_p = g.norm(2).item<float>();
        }
        total_sq += (double)norm_p * (double)norm_p;
    }
    return (float)std::sqrt(total_sq); // the norm as clip_grad_norm_ forms it: the 2-norm of the parameters' norms
}

double wmss::adamw_step(torch::optim::AdamW &opt, const std::vector<torch::Tensor> &params, double lr,
                        double max_grad_norm) {
    for (auto &g : opt.param_groups()) static_cast<torch::optim::AdamWOptions &>(g.options()).lr(lr);
    // no clipping: the largest float (libtorch converts max_norm to the gradients' fp32 and refuses more)
    const double max_norm = max_grad_norm > 0 ? max_grad_norm : (double)std::numeric_limits<float>::max();
    if (!fusable(params, opt)) {
        const double norm = torch::nn::utils::clip_grad_norm_(params, max_norm);
        opt.step();
        opt.zero_grad();
        return norm;
    }
    const float total = (float)wmss::grad_norm(params);
    const float clip_coef = (float)(max_norm / ((double)total + 1e-6));
    for (auto &group : opt.param_groups()) {
        const auto &o = static_cast<const torch::optim::AdamWOptions &>(group.options());
        const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
        for (auto &p : group.params()) {
            if (!p.grad().defined()) continue;
            const std::string key = c10::guts::to_string(p.unsafeGetTensorImpl());
            auto it = opt.state().find(key);
            if (it == opt.state().end()) {
                auto s = std::make_unique<torch::optim::AdamWParamState>();
                s->step(0);
                s->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
                s->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
                it = opt.state().emplace(key, std::move(s)).first;
            }
            auto &s = static_cast<torch::optim::AdamWParamState &>(*it->second);
            s.step(s.step() + 1);
            const double bc1 = 1 - std::pow(beta1, (double)s.step()), bc2 = 1 - std::pow(beta2, (double)s.step());
            Coefficients c;
            c.clip = clip_coef;
            c.scale_grad = clip_coef < 1;
            c.decay = (float)(1 - o.lr() * o.weight_decay());
            c.beta1 = (float)beta1;
            c.one_minus_beta1 = (float)(1 - beta1);
            c.beta2 = (float)beta2;
            c.one_minus_beta2 = (float)(1 - beta2);
            c.inv_sqrt_bc2 = (float)(1 / std::sqrt(bc2));
            c.eps = (float)o.eps();
            c.neg_step_size = (float)(-(o.lr() / bc1));
            float *pp = p.data_ptr<float>(), *gp = p.mutable_grad().data_ptr<float>();
            float *mp = s.exp_avg().data_ptr<float>(), *vp = s.exp_avg_sq().data_ptr<float>();
            at::parallel_for(0, p.numel(), 32768, [&](int64_t b, int64_t e) {
                adamw_update(pp + b, gp + b, mp + b, vp + b, e - b, c);
            });
        }
    }
    return total;
}
