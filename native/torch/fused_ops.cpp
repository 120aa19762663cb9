// Fused decoder ops (fused_ops.h): each reads its inputs once and writes its output once, forward and backward,
// where libtorch's composite ops make a pass over the activations per operator (RMSNorm: pow, mean, add, rsqrt, mul,
// mul; rotary embeddings: chunk, neg, cat, two mul, add; attention: divide, add the mask, softmax, and copies of k
// and v for grouped-query heads). The loops are compiled for AVX-512, AVX2 and plain x86-64 and picked at run time
// (target_clones); rows are split over libtorch's intra-op threads.
#include "fused_ops.h"

#include <ATen/Parallel.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

#include "error.h"
#include "lean_ops.h"
#include "wmss_torch.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define WMSS_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WMSS_CLONES
#endif

namespace wmss::fused {

namespace {

std::atomic<bool> on{true};

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

constexpr int L = 16; // lanes of the explicit partial sums (vectorised without reassociating flags)

/** exp(x) in float, within 2 ulp, 0 below -87.3 (Cephes' polynomial; branch-free so loops vectorise). */
inline float fast_exp(float x) {
    float xc = x > 88.7f ? 88.7f : x;
    xc = xc < -87.3f ? -87.3f : xc;
    const float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f; // round to nearest
    const float r = (xc - n * 0.693359375f) + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    const float y = p * r * r + r + 1.0f;
    const int32_t bits = ((int32_t)n + 127) << 23;
    float s;
    std::memcpy(&s, &bits, 4);
    const float e = y * s;
    return x < -87.3f ? 0.0f : e;
}

inline float dot_lanes(const float *__restrict a, const float *__restrict b, int64_t n) {
    float acc[L] = {0};
    int64_t j = 0;
    for (; j + L <= n; j += L)
        for (int l = 0; l < L; l++) acc[l] += a[j + l] * b[j + l];
    float s = 0;
    for (int l = 0; l < L; l++) s += acc[l];
    for (; j < n; j++) s += a[j] * b[j];
    return s;
}

bool usable(std::initializer_list<torch::Tensor> ts) {
    if (!on.load(std::memory_order_relaxed)) return false;
    for (const auto &t : ts)
        if (!t.defined() || t.scalar_type() != torch::kFloat32 || !t.device().is_cpu()) return false;
    return true;
}

// ---------------------------------------------------------------- RMSNorm

/** Where row r of x starts: x is [..., H] with a unit last stride, rows laid out by up to three leading strides. */
struct Rows {
    int64_t n1 = 1, n2 = 1, s0 = 0, s1 = 0, s2 = 0;
    int64_t offset(int64_t r) const { return (r / (n1 * n2)) * s0 + ((r / n2) % n1) * s1 + (r % n2) * s2; }
};

WMSS_CLONES void rms_forward_rows(const float *__restrict x, const float *__restrict w, float *__restrict y,
                                  float *__restrict rinv, int64_t begin, int64_t end, int64_t H, float eps, Rows rows) {
    for (int64_t row = begin; row < end; row++) {
        const float *xr = x + rows.offset(row);
        float *yr = y + row * H;
        const float r = 1.0f / std::sqrt(dot_lanes(xr, xr, H) / (float)H + eps);
        rinv[row] = r;
        for (int64_t j = 0; j < H; j++) yr[j] = (xr[j] * r) * w[j];
    }
}

WMSS_CLONES void rms_backward_rows(const float *__restrict x, const float *__restrict w, const float *__restrict rinv,
                                   const float *__restrict gy, float *__restrict gx, float *__restrict gw_part,
                                   int64_t begin, int64_t end, int64_t H, Rows rows) {
    for (int64_t row = begin; row < end; row++) {
        const float *xr = x + rows.offset(row), *gr = gy + row * H;
        float *gxr = gx + row * H;
        const float r = rinv[row];
        float acc[L] = {0};
        int64_t j = 0;
        for (; j + L <= H; j += L)
            for (int l = 0; l < L; l++) acc[l] += gr[j + l] * w[j + l] * xr[j + l];
        float dot = 0;
        for (int l = 0; l < L; l++) dot += acc[l];
        for (; j < H; j++) dot += gr[j] * w[j] * xr[j];
        const float c = r * r * r * dot / (float)H;
        for (int64_t k = 0; k < H; k++) {
            gxr[k] = r * gr[k] * w[k] - xr[k] * c;
            gw_part[k] += gr[k] * xr[k] * r;
        }
    }
}

/** The row layout of x when RmsNorm can read it in place (else x is made contiguous first). */
bool row_layout(const torch::Tensor &x, Rows &rows) {
    const int64_t d = x.dim(), H = x.size(-1);
    if (x.is_contiguous()) {
        rows.s2 = H;
        rows.n2 = x.numel() / std::max<int64_t>(H, 1);
        return true;
    }
    if (d < 2 || d > 4 || x.stride(-1) != 1) return false;
    int64_t sizes[3] = {1, 1, 1}, strides[3] = {0, 0, 0};
    for (int64_t i = 0; i < d - 1; i++) sizes[3 - (d - 1) + i] = x.size(i), strides[3 - (d - 1) + i] = x.stride(i);
    rows.n1 = sizes[1];
    rows.n2 = sizes[2];
    rows.s0 = strides[0];
    rows.s1 = strides[1];
    rows.s2 = strides[2];
    return true;
}

struct RmsNorm : public torch::autograd::Function<RmsNorm> {
    static torch::Tensor forward(AutogradContext *ctx, const torch::Tensor &x_in, const torch::Tensor &w, double eps) {
        Rows rows;
        const torch::Tensor x = row_layout(x_in, rows) ? x_in : x_in.contiguous();
        if (!x.is_same(x_in)) row_layout(x, rows);
        const int64_t H = x.size(-1), n = x.numel() / H;
        auto y = torch::empty(x.sizes(), x.options());
        auto rinv = torch::empty({n}, x.options());
        const float *xp = x.data_ptr<float>(), *wp = w.data_ptr<float>();
        float *yp = y.data_ptr<float>(), *rp = rinv.data_ptr<float>();
        at::parallel_for(0, n, std::max<int64_t>(1, 16384 / H), [&](int64_t b, int64_t e) {
            rms_forward_rows(xp, wp, yp, rp, b, e, H, (float)eps, rows);
        });
        ctx->save_for_backward({x, w, rinv});
        return y;
    }

    static variable_list backward(AutogradContext *ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &x = saved[0], &w = saved[1], &rinv = saved[2];
        Rows rows;
        row_layout(x, rows);
        const torch::Tensor gy = grads[0].contiguous();
        const int64_t H = x.size(-1), n = x.numel() / H;
        auto gx = torch::empty(x.sizes(), x.options());
        const int threads = at::get_num_threads();
        auto parts = torch::zeros({threads, H}, x.options());
        const float *xp = x.data_ptr<float>(), *wp = w.data_ptr<float>(), *rp = rinv.data_ptr<float>(),
                    *gp = gy.data_ptr<float>();
        float *gxp = gx.data_ptr<float>(), *pp = parts.data_ptr<float>();
        at::parallel_for(0, n, std::max<int64_t>(1, 16384 / H), [&](int64_t b, int64_t e) {
            rms_backward_rows(xp, wp, rp, gp, gxp, pp + (int64_t)at::get_thread_num() * H, b, e, H, rows);
        });
        torch::Tensor gw = ctx->needs_input_grad(1) ? parts.sum(0) : torch::Tensor();
        return {gx, gw, torch::Tensor()};
    }
};

// ---------------------------------------------------------------- rotary embeddings

/** One row of d values: out = x * c + rotate_half(x) * s (sign = +1), or its transpose for the gradient (-1). */
WMSS_CLONES void rope_row(const float *__restrict x, const float *__restrict c, const float *__restrict s,
                          float *__restrict out, int64_t d, bool transpose) {
    const int64_t h = d / 2;
    if (!transpose) {
        for (int64_t i = 0; i < h; i++) out[i] = x[i] * c[i] - x[i + h] * s[i];
        for (int64_t i = h; i < d; i++) out[i] = x[i] * c[i] + x[i - h] * s[i];
    } else {
        for (int64_t i = 0; i < h; i++) out[i] = x[i] * c[i] + x[i + h] * s[i + h];
        for (int64_t i = h; i < d; i++) out[i] = x[i] * c[i] - x[i - h] * s[i - h];
    }
}

/** x [B, n, T, d] with a unit last stride; cos/sin [B, 1, T, d] contiguous; out contiguous [B, n, T, d]. */
void rope_apply(const torch::Tensor &x, const torch::Tensor &cos, const torch::Tensor &sin, torch::Tensor &out,
                bool transpose) {
    const int64_t B = x.size(0), n = x.size(1), T = x.size(2), d = x.size(3);
    const int64_t sb = x.stride(0), sn = x.stride(1), st = x.stride(2);
    const float *xp = x.data_ptr<float>(), *cp = cos.data_ptr<float>(), *sp = sin.data_ptr<float>();
    float *op = out.data_ptr<float>();
    at::parallel_for(0, B * n * T, std::max<int64_t>(1, 8192 / d), [&](int64_t b0, int64_t e0) {
        for (int64_t row = b0; row < e0; row++) {
            const int64_t b = row / (n * T), h = (row / T) % n, t = row % T;
            const int64_t cs = (b * T + t) * d;
            rope_row(xp + b * sb + h * sn + t * st, cp + cs, sp + cs, op + row * d, d, transpose);
        }
    });
}

struct Rope : public torch::autograd::Function<Rope> {
    static torch::Tensor forward(AutogradContext *ctx, const torch::Tensor &x_in, const torch::Tensor &cos_in,
                                 const torch::Tensor &sin_in) {
        const torch::Tensor x = x_in.stride(3) == 1 ? x_in : x_in.contiguous();
        const torch::Tensor cos = cos_in.contiguous(), sin = sin_in.contiguous();
        auto out = torch::empty(x.sizes(), x.options());
        rope_apply(x, cos, sin, out, false);
        ctx->save_for_backward({cos, sin});
        return out;
    }

    static variable_list backward(AutogradContext *ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor g = grads[0].stride(3) == 1 ? grads[0] : grads[0].contiguous();
        auto gx = torch::empty(g.sizes(), g.options());
        rope_apply(g, saved[0], saved[1], gx, true);
        return {gx, torch::Tensor(), torch::Tensor()};
    }
};

// ---------------------------------------------------------------- SwiGLU

WMSS_CLONES void swiglu_forward(const float *__restrict g, const float *__restrict u, float *__restrict y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = g[i] / (1.0f + fast_exp(-g[i])) * u[i];
}

WMSS_CLONES void swiglu_backward(const float *__restrict g, const float *__restrict u, const float *__restrict gy,
                                 float *__restrict gg, float *__restrict gu, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        const float s = 1.0f / (1.0f + fast_exp(-g[i]));
        gu[i] = gy[i] * g[i] * s;
        gg[i] = gy[i] * u[i] * s * (1.0f + g[i] * (1.0f - s));
    }
}

struct SwiGlu : public torch::autograd::Function<SwiGlu> {
    static torch::Tensor forward(AutogradContext *ctx, const torch::Tensor &g_in, const torch::Tensor &u_in) {
        const torch::Tensor g = g_in.contiguous(), u = u_in.contiguous();
        auto y = torch::empty_like(g);
        const float *gp = g.data_ptr<float>(), *up = u.data_ptr<float>();
        float *yp = y.data_ptr<float>();
        at::parallel_for(0, g.numel(), 16384, [&](int64_t b, int64_t e) { swiglu_forward(gp + b, up + b, yp + b, e - b); });
        ctx->save_for_backward({g, u});
        return y;
    }

    static variable_list backward(AutogradContext *ctx, variable_list grads) {
        const auto saved = ctx->get_saved_variables();
        const torch::Tensor &g = saved[0], &u = saved[1];
        const torch::Tensor gy = grads[0].contiguous();
        auto gg = torch::empty_like(g), gu = torch::empty_like(u);
        const float *gp = g.data_ptr<float>(), *up = u.data_ptr<float>(), *yp = gy.data_ptr<float>();
        float *ggp = gg.data_ptr<float>(), *gup = gu.data_ptr<float>();
        at::parallel_for(0, g.numel(), 16384, [&](int64_t b, int64_t e) {
            swiglu_backward(gp + b, up + b, yp + b, ggp + b, gup + b, e - b);
        });
        return {gg, gu};
    }
};

/** gu [N, 2I] (gate columns, then up columns) -> y [N, I]; and back: the gradient [N, 2I] in one pass. */
struct SwiGluHalves : public torch::autograd::Function<SwiGluHalves> {
    static torch::Tensor forward(AutogradContext *ctx, const torch::Tensor &gu_in) {
        const torch::Tensor gu = gu_in.contiguous();
        const int64_t I = gu.size(-1) / 2, N = gu.numel() / (2 * I);
        std::vector<int64_t> shape(gu.sizes().begin(), gu.sizes().end());
        shape.back() = I;
        auto y = torch::empty(shape, gu.options());
        const float *p = gu.data_ptr<float>();
        float *yp = y.data_ptr<float>();
        at::parallel_for(0, N, std::max<int64_t>(1, 16384 / I), [&](int64_t b, int64_t e) {
            for (int64_t r = b; r < e; r++) swiglu_forward(p + r * 2 * I, p + r * 2 * I + I, yp + r * I, I);
        });
        ctx->save_for_backward({gu});
        return y;
    }

    static variable_list backward(AutogradContext *ctx, variable_list grads) {
        const torch::Tensor gu = ctx->get_saved_variables()[0];
        const torch::Tensor gy = grads[0].contiguous();
        const int64_t I = gu.size(-1) / 2, N = gu.numel() / (2 * I);
        auto g = torch::empty_like(gu);
        const float *p = gu.data_ptr<float>(), *yp = gy.data_ptr<float>();
        float *gp = g.data_ptr<float>();
        at::parallel_for(0, N, std::max<int64_t>(1, 16384 / I), [&](int64_t b, int64_t e) {
            for (int64_t r = b; r < e; r++)
                swiglu_backward(p + r * 2 * I, p + r * 2 * I + I, yp + r * I, gp + r * 2 * I, gp + r * 2 * I + I, I);
        });
        return {g};
    }
};

// ---------------------------------------------------------------- scaled, masked softmax

WMSS_CLONES void softmax_row(const float *__restrict s, const float *__restrict bias, float *__restrict y, int64_t n,
                             float scale) {
    float mx[L];
    for (int l = 0; l < L; l++) mx[l] = -INFINITY;
    int64_t j = 0;
    for (; j + L <= n; j += L)
        for (int l = 0; l < L; l++) {
            const float z = s[j + l] * scale + bias[j + l];
            y[j + l] = z;
            mx[l] = z > mx[l] ? z : mx[l];
        }
    float m = -INFINITY;
    for (int l = 0; l < L; l++) m = mx[l] > m ? mx[l] : m;
    for (; j < n; j++) {
        const float z = s[j] * scale + bias[j];
        y[j] = z;
        m = z > m ? z : m;
    }
    float acc[L] = {0};
    j = 0;
    for (; j + L <= n; j += L)
        for (int l = 0; l < L; l++) {
            const float e = fast_exp(y[j + l] - m);
            y[j + l] = e;
            acc[l] += e;
        }
    float sum = 0;
    for (int l = 0; l < L; l++) sum += acc[l];
    for (; j < n; j++) {
        const float e = fast_exp(y[j] - m);
        y[j] = e;
        sum += e;
    }
    const float inv = 1.0f / sum;
    for (int64_t k = 0; k < n; k++) y[k] *= inv;
}

WMSS_CLONES void softmax_backward_row(const float *__restrict y, const float *__restrict gy, float *__restrict gs,
                                      int64_t n, float scale) {
    const float dot = dot_lanes(y, gy, n);
    for (int64_t j = 0; j < n; j++) gs[j] = scale * y[j] * (gy[j] - dot);
}

/** Rows of s [R, T] with R = B * heads * T; row r takes bias[b, 0, t, :] with t = r % T, b = r / (heads * T). */
struct MaskedSoftmax : public torch::autograd::Function<MaskedSoftmax> {
    static torch::Tensor forward(AutogradContext *ctx, const torch::Tensor &s_in, const torch::Tensor &bias_in,
                                 double scale, int64_t heads) {
        const torch::Tensor s = s_in.contiguous(), bias = bias_in.contiguous();
        const int64_t T = bias.size(-1), rows = s.numel() / T;
        auto y = torch::empty(s.sizes(), s.options());
        const float *sp = s.data_ptr<float>(), *bp = bias.data_ptr<float>();
        float *yp = y.data_ptr<float>();
        at::parallel_for(0, rows, std::max<int64_t>(1, 8192 / T), [&](int64_t b0, int64_t e0) {
            for (int64_t r = b0; r < e0; r++) {
                const int64_t t = r % T, b = r / (heads * T);
                softmax_row(sp + r * T, bp + (b * T + t) * T, yp + r * T, T, (float)scale);
            }
        });
        ctx->save_for_backward({y});
        ctx->saved_data["scale"] = scale;
        return y;
    }

    static variable_list backward(AutogradContext *ctx, variable_list grads) {
        const torch::Tensor y = ctx->get_saved_variables()[0];
        const torch::Tensor gy = grads[0].contiguous();
        const double scale = ctx->saved_data["scale"].toDouble();
        const int64_t T = y.size(-1), rows = y.numel() / T;
        auto gs = torch::empty_like(y);
        const float *yp = y.data_ptr<float>(), *gp = gy.data_ptr<float>();
        float *op = gs.data_ptr<float>();
        at::parallel_for(0, rows, std::max<int64_t>(1, 8192 / T), [&](int64_t b0, int64_t e0) {
            for (int64_t r = b0; r < e0; r++) softmax_backward_row(yp + r * T, gp + r * T, op + r * T, T, (float)scale);
        });
        return {gs, torch::Tensor(), torch::Tensor(), torch::Tensor()};
    }
};

/** (x1, x2) -> (-x2, x1) over the two halves of the last dimension (the Hugging Face rotary layout). */
torch::Tensor rotate_half(const torch::Tensor &x) {
    const auto halves = x.chunk(2, -1);
    return torch::cat({-halves[1], halves[0]}, -1);
}

}  // namespace

bool enabled() { return on.load(); }
void set_enabled(bool v) { on = v; }

torch::Tensor rms_norm(const torch::Tensor &x, const torch::Tensor &w, double eps) {
    if (usable({x, w})) return RmsNorm::apply(x, w, eps);
    const auto x32 = x.to(torch::kFloat32);
    return (x32 * torch::rsqrt(x32.pow(2).mean(-1, true) + eps)).to(x.scalar_type()) * w;
}

torch::Tensor rms_norm_to(const torch::Tensor &x, const torch::Tensor &w, double eps, c10::ScalarType out) {
    if (usable({x, w}) && out == torch::kFloat32) return RmsNorm::apply(x, w, eps);
    if (on.load(std::memory_order_relaxed)) return lean::rms_norm(x, w, eps, out);
    return rms_norm(x, w.to(x.scalar_type()), eps).to(out); // the composite reference
}

torch::Tensor rope(const torch::Tensor &x, const torch::Tensor &cos, const torch::Tensor &sin) {
    if (usable({x, cos, sin}) && x.dim() == 4 && cos.dim() == 4 && cos.size(1) == 1 && x.size(3) % 2 == 0 &&
        cos.sizes() == sin.sizes() && cos.size(0) == x.size(0) && cos.size(2) == x.size(2) && cos.size(3) == x.size(3))
        return Rope::apply(x, cos, sin);
    return x * cos + rotate_half(x) * sin;
}

torch::Tensor swiglu(const torch::Tensor &gate, const torch::Tensor &up) {
    if (usable({gate, up}) && gate.sizes() == up.sizes()) return SwiGlu::apply(gate, up);
    return torch::silu(gate) * up;
}

std::vector<torch::Tensor> linears(const torch::Tensor &x, const std::vector<torch::Tensor> &w,
                                   const std::vector<torch::Tensor> &b) {
    bool biased = false;
    for (const auto &t : b) biased = biased || t.defined();
    if (!on.load(std::memory_order_relaxed) || w.size() < 2) {
        std::vector<torch::Tensor> out;
        for (size_t i = 0; i < w.size(); i++) out.push_back(torch::linear(x, w[i], i < b.size() ? b[i] : torch::Tensor()));
        return out;
    }
    std::vector<int64_t> widths;
    std::vector<torch::Tensor> bias;
    for (size_t i = 0; i < w.size(); i++) {
        widths.push_back(w[i].size(0));
        if (biased) bias.push_back(i < b.size() && b[i].defined() ? b[i] : torch::zeros({w[i].size(0)}, w[i].options()));
    }
    return torch::linear(x, torch::cat(w), biased ? torch::cat(bias) : torch::Tensor()).split_with_sizes(widths, -1);
}

torch::Tensor swiglu_linear(const torch::Tensor &x, const torch::Tensor &gate, const torch::Tensor &up) {
    if (usable({x, gate, up}) && gate.sizes() == up.sizes()) return SwiGluHalves::apply(torch::linear(x, torch::cat({gate, up})));
    if (on.load(std::memory_order_relaxed) && gate.sizes() == up.sizes())
        return lean::swiglu_halves(torch::linear(x, torch::cat({gate, up})));
    return swiglu(torch::linear(x, gate), torch::linear(x, up));
}

torch::Tensor attention(const torch::Tensor &q, const torch::Tensor &k_in, const torch::Tensor &v_in,
                        const torch::Tensor &bias, double scale) {
    const int64_t B = q.size(0), nh = q.size(1), T = q.size(2), d = q.size(3), nkv = k_in.size(1);
    if (usable({q, k_in, v_in, bias}) && bias.dim() == 4 && bias.size(1) == 1 && bias.size(2) == T &&
        bias.size(3) == T && k_in.size(2) == T) {
        // Grouped: the g = nh / nkv query heads of a kv head are one [g * T, d] block (head h = kv * g + j), so one
        // product per kv head serves them all, and k and v are never repeated.
        const int64_t g = nh / nkv;
        const auto q3 = q.reshape({B * nkv, g * T, d});
        const auto k3 = k_in.reshape({B * nkv, T, d}), v3 = v_in.reshape({B * nkv, T, d});
        const auto s = torch::bmm(q3, k3.transpose(1, 2));                 // [B * nkv, g * T, T]
        const auto p = MaskedSoftmax::apply(s, bias, scale, nh);          // rows ordered (b, head, t)
        return torch::bmm(p, v3).view({B, nh, T, d}).transpose(1, 2).reshape({B, T, nh * d});
    }
    torch::Tensor k = k_in, v = v_in;
    if (nkv != nh) { // grouped-query attention: each kv head serves nh / nkv query heads
        k = k.repeat_interleave(nh / nkv, 1);
        v = v.repeat_interleave(nh / nkv, 1);
    }
    auto scores = torch::matmul(q, k.transpose(-2, -1)) * scale + bias;
    auto probs = torch::softmax(scores.to(torch::kFloat32), -1).to(q.scalar_type());
    return torch::matmul(probs, v).transpose(1, 2).reshape({B, T, nh * d});
}

}  // namespace wmss::fused

extern "C" int wmss_torch_set_fused_ops(int on) {
    return wmss::torch_guard("wmss_torch_set_fused_ops", [&] { wmss::fused::set_enabled(on != 0); });
}
