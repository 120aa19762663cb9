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

#include "compat.h"
#include "error.h"
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

using Coefficients = wmss::AdamWCoefficients;

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

/** The gradients' global norm as a 0-dim fp64 tensor on their device, without reading it: each gradient's fp32 norm
 * (as clip_grad_norm_ keeps it), then the 2-norm of those in fp64. */
torch::Tensor device_norm(const std::vector<torch::Tensor> &params) {
    std::vector<torch::Tensor> grads;
    for (const auto &p : params)
        if (p.grad().defined()) grads.push_back(p.grad().is_sparse() ? p.grad().coalesce().values() : p.grad());
    if (grads.empty()) return torch::zeros({}, torch::kFloat64);
    const auto norms = at::_foreach_norm(grads, 2);
    return torch::stack(norms).to(torch::kFloat64).pow(2).sum().sqrt();
}

[[noreturn]] void nonfinite_norm(double norm) {
    throw wmss::Error{WMSS_ERR_NONFINITE, "the gradient norm is " + std::to_string(norm) +
                                              " (NaN or inf in the gradients): the optimizer step was not taken"};
}

torch::optim::AdamWParamState &state_of(torch::optim::AdamW &opt, const torch::Tensor &p) {
    const auto key = wmss::compat::optimizer_key(p);
    auto it = opt.state().find(key);
    if (it == opt.state().end()) {
        auto s = std::make_unique<torch::optim::AdamWParamState>();
        s->step(0);
        s->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        s->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
        it = opt.state().emplace(key, std::move(s)).first;
    }
    return static_cast<torch::optim::AdamWParamState &>(*it->second);
}

bool on_cuda(const std::vector<torch::Tensor> &params) {
    bool any = false;
    for (const auto &p : params) {
        if (!p.grad().defined()) continue;
        if (!p.is_cuda() || p.scalar_type() != torch::kFloat32 || p.grad().is_sparse()) return false;
        any = true;
    }
    return any;
}

/** The CUDA step: norm, clip and PyTorch's fused AdamW on the device, one read of the norm (which decides the step). */
double cuda_step(torch::optim::AdamW &opt, wmss::DeviceSteps &steps, const std::vector<torch::Tensor> &params,
                 double max_norm) {
    const torch::Tensor total = device_norm(params);
    const torch::Tensor found_inf = total.isfinite().logical_not().to(torch::kFloat32);
    const torch::Tensor clip = (max_norm / (total + 1e-6)).clamp_max(1.0).to(torch::kFloat32);
    std::vector<torch::Tensor> counted; // every step counter this call increments
    for (auto &group : opt.param_groups()) {
        const auto &o = static_cast<const torch::optim::AdamWOptions &>(group.options());
        std::vector<torch::Tensor> ps, gs, ms, vs, ss;
        for (auto &p : group.params()) {
            if (!p.grad().defined()) continue;
            auto &s = state_of(opt, p);
            torch::Tensor &step = steps.steps[p.unsafeGetTensorImpl()];
            if (!step.defined()) step = torch::full({}, (double)s.step(), p.options().dtype(torch::kFloat32));
            ps.push_back(p.detach());
            gs.push_back(p.mutable_grad());
            ms.push_back(s.exp_avg());
            vs.push_back(s.exp_avg_sq());
            ss.push_back(step);
        }
        if (ps.empty()) continue;
        wmss::compat::foreach_mul(gs, clip);
        at::_foreach_add_(ss, 1.0);
        counted.insert(counted.end(), ss.begin(), ss.end());
        wmss::compat::fused_adamw(ps, gs, ms, vs, ss, o.lr(), std::get<0>(o.betas()), std::get<1>(o.betas()),
                                  o.weight_decay(), o.eps(), found_inf);
        at::_foreach_zero_(gs);
    }
    const double norm = (float)total.item<double>(); // the one read of the step
    if (!std::isfinite(norm)) {
        if (!counted.empty()) at::_foreach_sub_(counted, 1.0); // the kernel skipped the update: undo the count
        nonfinite_norm(norm);
    }
    for (auto &group : opt.param_groups())
        for (auto &p : group.params())
            if (p.grad().defined()) {
                auto &s = state_of(opt, p);
                s.step(s.step() + 1);
            }
    return norm;
}

}  // namespace

double wmss::grad_norm(const std::vector<torch::Tensor> &params) {
    bool cpu_f32 = true;
    for (const auto &p : params)
        if (p.grad().defined() && (p.grad().scalar_type() != torch::kFloat32 || !p.grad().device().is_cpu() ||
                                   !p.grad().is_contiguous() || p.grad().is_sparse()))
            cpu_f32 = false;
    if (!cpu_f32) return (float)device_norm(params).item<double>(); // one read of the device
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

wmss::AdamWCoefficients wmss::adamw_coefficients(const torch::optim::AdamWOptions &o, int64_t step, float clip_coef) {
    const double beta1 = std::get<0>(o.betas()), beta2 = std::get<1>(o.betas());
    const double bc1 = 1 - std::pow(beta1, (double)step), bc2 = 1 - std::pow(beta2, (double)step);
    AdamWCoefficients c;
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
    return c;
}

void wmss::adamw_update_range(float *p, float *g, float *m, float *v, int64_t n, const AdamWCoefficients &c) {
    at::parallel_for(0, n, 32768, [&](int64_t b, int64_t e) { adamw_update(p + b, g + b, m + b, v + b, e - b, c); });
}

float wmss::clip_coefficient(double max_grad_norm, float total_norm) {
    const double max_norm = max_grad_norm > 0 ? max_grad_norm : (double)std::numeric_limits<float>::max();
    return (float)(max_norm / ((double)total_norm + 1e-6));
}

double wmss::adamw_step(torch::optim::AdamW &opt, DeviceSteps &steps, const std::vector<torch::Tensor> &params,
                        double lr, double max_grad_norm) {
    for (auto &g : opt.param_groups()) static_cast<torch::optim::AdamWOptions &>(g.options()).lr(lr);
    // no clipping: the largest float (libtorch converts max_norm to the gradients' fp32 and refuses more)
    const double max_norm = max_grad_norm > 0 ? max_grad_norm : (double)std::numeric_limits<float>::max();
    bool amsgrad = false;
    for (const auto &group : opt.param_groups())
        amsgrad = amsgrad || static_cast<const torch::optim::AdamWOptions &>(group.options()).amsgrad();
    if (compat::kHasFusedAdamW && !amsgrad && on_cuda(params)) return cuda_step(opt, steps, params, max_norm);
    if (!fusable(params, opt)) {
        const double norm = wmss::grad_norm(params);
        if (!std::isfinite(norm)) nonfinite_norm(norm);
        torch::nn::utils::clip_grad_norm_(params, max_norm);
        opt.step();
        for (const auto &p : params) // zeroed, not released (libtorch 2.x's zero_grad releases them by default)
            if (p.grad().defined()) p.grad().zero_();
        steps = DeviceSteps(); // libtorch counted the steps on the host
        return norm;
    }
    const float total = (float)wmss::grad_norm(params);
    if (!std::isfinite(total)) nonfinite_norm(total);
    const float clip_coef = wmss::clip_coefficient(max_grad_norm, total);
    for (auto &group : opt.param_groups()) {
        const auto &o = static_cast<const torch::optim::AdamWOptions &>(group.options());
        for (auto &p : group.params()) {
            if (!p.grad().defined()) continue;
            auto &s = state_of(opt, p);
            s.step(s.step() + 1);
            const Coefficients c = wmss::adamw_coefficients(o, s.step(), clip_coef);
            wmss::adamw_update_range(p.data_ptr<float>(), p.mutable_grad().data_ptr<float>(), s.exp_avg().data_ptr<float>(),
                                     s.exp_avg_sq().data_ptr<float>(), p.numel(), c);
        }
    }
    return total;
}

void wmss::save_adamw(torch::optim::AdamW &opt, const TensorMap &named, torch::serialize::OutputArchive &archive) {
    // Keyed by Hugging Face parameter name, host tensors: the same file on every device and libtorch version (libtorch's
    // own format keys the state by the TensorImpl's address, written as a string in 1.13 and as a number in 2.x).
    archive.write("wmss_optimizer_format", c10::IValue(kOptimizerFormat));
    int64_t n = 0;
    for (const auto &kv : named) {
        const auto it = opt.state().find(compat::optimizer_key(kv.second));
        if (it == opt.state().end()) continue; // never stepped: no state yet
        const auto &st = static_cast<const torch::optim::AdamWParamState &>(*it->second);
        const std::string k = "p" + std::to_string(n++);
        archive.write(k + "_name", c10::IValue(kv.first));
        archive.write(k + "_step", c10::IValue((int64_t)st.step()));
        archive.write(k + "_exp_avg", st.exp_avg().to(torch::kCPU));
        archive.write(k + "_exp_avg_sq", st.exp_avg_sq().to(torch::kCPU));
    }
    archive.write("count", c10::IValue(n));
}

void wmss::load_adamw(torch::optim::AdamW &opt, const TensorMap &named, torch::serialize::InputArchive &archive,
                      const std::string &path) {
    c10::IValue format;
    if (!archive.try_read("wmss_optimizer_format", format)) {
        // libtorch's own format, as wmss-native wrote it before: readable by the libtorch that wrote it (1.13)
        if (!compat::kLegacyOptimizerFiles)
            throw Error{WMSS_ERR_ARGUMENT, path + ": an optimizer state in libtorch 1.13's own format (an older "
                                                  "wmss-native on the CPU build); this build's libtorch reads it wrongly: "
                                                  "resume it once with the CPU build (which rewrites it at the next "
                                                  "checkpoint), or start the optimizer afresh"};
        opt.load(archive);
        for (const auto &kv : opt.state()) // whatever the file held, every state entry is a usable one
            if (!kv.second) throw Error{WMSS_ERR_ARGUMENT, path + ": an optimizer state with an empty entry"};
        return;
    }
    if (!format.isInt() || format.toInt() != kOptimizerFormat)
        throw Error{WMSS_ERR_VERSION, path + ": optimizer state format " + format.tagKind() +
                                          (format.isInt() ? " " + std::to_string(format.toInt()) : std::string()) +
                                          ", this build reads format " + std::to_string(kOptimizerFormat)};
    c10::IValue count;
    archive.read("count", count);
    const int64_t n = count.toInt();
    std::remove_reference_t<decltype(opt.state())> fresh;
    for (int64_t i = 0; i < n; i++) {
        const std::string k = "p" + std::to_string(i);
        c10::IValue name, step;
        archive.read(k + "_name", name);
        archive.read(k + "_step", step);
        torch::Tensor m, v;
        archive.read(k + "_exp_avg", m);
        archive.read(k + "_exp_avg_sq", v);
        const auto p = named.find(name.toStringRef());
        if (p == named.end())
            throw Error{WMSS_ERR_ARGUMENT, path + ": optimizer state for " + name.toStringRef() + ", a parameter this "
                                                  "model does not have (a checkpoint of another architecture?)"};
        if (m.sizes() != p->second.sizes() || v.sizes() != p->second.sizes())
            throw Error{WMSS_ERR_SHAPE, path + ": optimizer state of " + p->first + " has another shape than the parameter"};
        auto st = std::make_unique<torch::optim::AdamWParamState>();
        st->step(step.toInt());
        st->exp_avg(m.to(p->second.device(), torch::kFloat32).contiguous());
        st->exp_avg_sq(v.to(p->second.device(), torch::kFloat32).contiguous());
        fresh.emplace(compat::optimizer_key(p->second), std::move(st));
    }
    opt.state() = std::move(fresh); // only once the whole file has been read
}

void wmss::adamw_state_to(torch::optim::AdamW &opt, const torch::Device &device) {
    auto to = [&](const torch::Tensor &t) { return t.defined() ? t.to(device) : t; };
    for (auto &kv : opt.state()) {
        auto &s = static_cast<torch::optim::AdamWParamState &>(*kv.second);
        s.exp_avg(to(s.exp_avg()));
        s.exp_avg_sq(to(s.exp_avg_sq()));
        s.max_exp_avg_sq(to(s.max_exp_avg_sq()));
    }
}
