// The fused LM head (wmss_torch.h, "fused head"): forward to the final norm, then per chunk of rows both models'
// logits from their own head weights, the fused ce_mix of libwmss in place, and the gradients of hidden states and
// head weights accumulated, so that N x V logits never exist whole. Then the backward of each body from its
// d loss / d hidden. One ce_mix implementation: libwmss's (wmss_ce_mix on the CPU, wmss_cuda_ce_mix on a GPU).
#include "fused_head.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "compat.h"
#include "error.h"
#include "threads.h"

namespace {

using wmss::Error;

std::string str(int64_t v) { return std::to_string(v); }

/** Status of a libwmss call as an exception carrying libwmss's message. */
void check_wmss(int status, const char *what) {
    if (status != WMSS_OK) throw Error{status, std::string(what) + ": " + wmss_last_error()};
}

/** Rows per chunk for a budget of chunk_bytes of logits (element_bytes each: 4 for fp32, 2 for bf16). */
int64_t chunk_rows(int64_t rows, int64_t vocab, int models, int64_t chunk_bytes, int64_t element_bytes = 4) {
    if (chunk_bytes <= 0)
        throw Error{WMSS_ERR_ARGUMENT, "chunk_bytes = " + str(chunk_bytes) + ": the chunk budget must be > 0 bytes"};
    if (models < 1 || models > 2) throw Error{WMSS_ERR_ARGUMENT, "models must be 1 or 2, got " + str(models)};
    if (rows < 0 || vocab < 1) throw Error{WMSS_ERR_SHAPE, "rows = " + str(rows) + ", vocab = " + str(vocab)};
    const int64_t row_bytes = vocab * element_bytes * models, n = std::max<int64_t>(rows, 1);
    int64_t fit = chunk_bytes / row_bytes;
    // Several chunks: a multiple of 32 rows where at least 64 fit. OpenBLAS's sgemm runs the chunk's products
    // ~10% slower on row counts it splits unevenly (measured on the benchmark's shapes: 220 rows 62-66 GFLOP/s,
    // 208, 224 and 256 rows 69-71, the whole 2,048 rows 70-74).
    if (fit < n && fit >= 64) fit = fit / 32 * 32;
    return std::max<int64_t>(1, std::min<int64_t>(n, fit));
}

/**
 * A chunk's logits [rows, V] on the CPU. When the budget binds (several chunks), they bypass libwmss_torch's caching
 * allocator: a cached block of this size stays resident between steps, where nothing else reuses it (measured at
 * Qwen3's vocabulary: 300 MiB less resident between steps; the step's own peak is the same either way). The page
 * faults of a fresh chunk are estimated at ~0.1% of that step. One chunk: the cache, as every other tensor.
 */
torch::Tensor chunk_logits(int64_t rows, int64_t vocab, bool several, const torch::TensorOptions &f32) {
    if (!several || !f32.device().is_cpu() || f32.dtype() != torch::kFloat32) return torch::empty({rows, vocab}, f32);
    void *p = nullptr;
    const size_t bytes = (size_t)rows * (size_t)vocab * sizeof(float);
    if (posix_memalign(&p, 64, std::max<size_t>(bytes, 64)) != 0)
        throw Error{WMSS_ERR_OUT_OF_MEMORY, "out of memory for a chunk of " + str(rows) + " x " + str(vocab) + " logits"};
    return torch::from_blob(p, {rows, vocab}, [](void *q) { std::free(q); }, f32);
}

/** Rows of the head gradient per product (see the chunk loop). */
constexpr int64_t kGradSlice = 32768;

/** One model in a fused head call. */
struct Side {
    wmss_torch_model *handle = nullptr;
    wmss::HiddenState *state = nullptr;
    torch::Tensor h;      // [N, H] detached hidden states (the compute dtype)
    torch::Tensor w;      // [V, H] detached head weight in the compute dtype (a cast copy in bf16)
    torch::Tensor param;  // the head weight parameter itself (its .grad receives the head gradient)
    torch::Tensor gw;     // param.grad, or undefined until the first chunk writes it
    torch::Tensor gh;     // [N, H] d loss / d hidden (when grad)
    torch::Tensor z;      // [chunk, V] the chunk's logits, then their gradient
    bool grad = false, gw_fresh = false;

    Side(wmss_torch_model *m, const char *role, int64_t rows) : handle(m) {
        state = &wmss::hidden_of(m);
        if (!state->hidden.defined())
            throw Error{WMSS_ERR_ARGUMENT, std::string("the ") + role +
                                               " model has no hidden states: call wmss_torch_model_forward_hidden first"};
        if (state->hidden.size(0) != rows)
            throw Error{WMSS_ERR_SHAPE, std::string("rows = ") + str(rows) + " but the " + role +
                                            " model's hidden states have " + str(state->hidden.size(0)) + " rows"};
        param = wmss::decoder_of(m).head_weight();
        h = state->hidden.detach();
        w = wmss::decoder_of(m).cast(param.detach());
        grad = state->graph && state->hidden.requires_grad() && param.requires_grad();
    }

    int64_t width() const { return h.size(1); }
};

int wmss_dtype_of(const torch::Tensor &z) { return z.scalar_type() == torch::kBFloat16 ? WMSS_DTYPE_BF16 : WMSS_DTYPE_F32; }

/** ce_mix of one chunk on the logits' device; on CUDA on libtorch's current stream, ordered with its own kernels. */
void ce_mix(const wmss_ce_mix_args &a, const torch::Tensor &like, const torch::Tensor &device_status) {
    if (like.is_cuda()) {
        check_wmss(wmss_cuda_ce_mix(&a, device_status.data_ptr<int64_t>(), wmss::compat::current_cuda_stream(like.device())),
                   "wmss_cuda_ce_mix");
    } else {
        check_wmss(wmss_ce_mix(&a), "wmss_ce_mix");
    }
}

void entropy(const torch::Tensor &z, float *out, const torch::Tensor &device_status, uint32_t flags) {
    wmss_entropy_args e = wmss_entropy_args_default();
    e.dtype = wmss_dtype_of(z);
    e.rows = z.size(0);
    e.vocab = e.ld = z.size(1);
    e.z = z.data_ptr();
    e.entropy = out;
    if (z.is_cuda()) {
        check_wmss(wmss_cuda_entropy(&e, device_status.data_ptr<int64_t>(), wmss::compat::current_cuda_stream(z.device())),
                   "wmss_cuda_entropy");
    } else {
        e.flags = flags & WMSS_FLAG_ALLOW_NONFINITE;
        check_wmss(wmss_entropy(&e), "wmss_entropy");
    }
}

/** gw (+)= g^T h with fp32 accumulation into the fp32 gradient, whatever the dtype of g and h. */
void head_grad(torch::Tensor gw, const torch::Tensor &gt, const torch::Tensor &hc, bool fresh) {
    if (gt.scalar_type() == gw.scalar_type()) {
        if (fresh)
            at::mm_out(gw, gt, hc);
        else
            gw.addmm_(gt, hc);
    } else {
        wmss::compat::addmm_accumulate(gw, gt, hc, fresh);
    }
}

void validate(const wmss_torch_fused_head_args &a) {
    if (!a.strong) throw Error{WMSS_ERR_NULL_POINTER, "the strong model is NULL"};
    if (!a.labels || !a.loss) throw Error{WMSS_ERR_NULL_POINTER, "labels and loss are required"};
    if (a.rows < 0) throw Error{WMSS_ERR_SHAPE, "rows = " + str(a.rows) + " is negative"};
    if (!(a.lambda >= 0.0f && a.lambda <= 1.0f))
        throw Error{WMSS_ERR_ARGUMENT, "lambda = " + std::to_string(a.lambda) + " is outside [0, 1]"};
    if (!a.weak && a.lambda != 1.0f)
        throw Error{WMSS_ERR_ARGUMENT, "one model (weak = NULL) needs lambda = 1, got " + std::to_string(a.lambda)};
    if (!a.weak && (a.entropy_weak || a.grad_hidden_weak))
        throw Error{WMSS_ERR_ARGUMENT, "entropy_weak and grad_hidden_weak need a weak model"};
    if (a.weak == a.strong) throw Error{WMSS_ERR_ALIAS, "strong and weak are the same model"};
    if (!(a.inv_norm >= 0.0f) || std::isinf(a.inv_norm))
        throw Error{WMSS_ERR_ARGUMENT, "inv_norm must be finite and >= 0"};
    if (a.flags & ~(WMSS_FLAG_ALLOW_NONFINITE | WMSS_TORCH_HEAD_NO_BACKWARD))
        throw Error{WMSS_ERR_ARGUMENT, "unknown flags " + str(a.flags)};
    if (a.reserved) throw Error{WMSS_ERR_ARGUMENT, "reserved must be 0"};
}

void check_labels(const int64_t *labels, int64_t rows, int64_t vocab) {
    for (int64_t r = 0; r < rows; r++) {
        const int64_t y = labels[r];
        if (y != WMSS_IGNORE_INDEX && (y < 0 || y >= vocab))
            throw Error{WMSS_ERR_LABEL, "labels[" + str(r) + "] = " + str(y) + " is outside [0, " + str(vocab) +
                                            ") and not the ignore index -100"};
    }
}

/** The per-row outputs of a call, on the logits' device until they are read back, once, at the end. */
struct RowOutputs {
    torch::Tensor loss, lse, ent, ent_s, ent_w, non_target, grad_sq;

    RowOutputs(const wmss_torch_fused_head_args &a, const torch::TensorOptions &f32) {
        auto wanted = [&](const void *out) { return out ? torch::empty({a.rows}, f32) : torch::Tensor(); };
        loss = torch::empty({a.rows}, f32);
        lse = wanted(a.lse);
        ent = wanted(a.entropy);
        ent_s = wanted(a.entropy_strong);
        ent_w = wanted(a.entropy_weak);
        non_target = wanted(a.non_target_logit_strong);
        grad_sq = wanted(a.grad_sq_strong);
    }

    /** Copies each wanted output into the caller's host array. */
    void store(const wmss_torch_fused_head_args &a) const {
        const std::pair<const torch::Tensor *, float *> all[] = {{&loss, a.loss}, {&lse, a.lse}, {&ent, a.entropy},
                                                                 {&ent_s, a.entropy_strong}, {&ent_w, a.entropy_weak},
                                                                 {&non_target, a.non_target_logit_strong},
                                                                 {&grad_sq, a.grad_sq_strong}};
        for (const auto &[t, out] : all)
            if (out) torch::from_blob(out, {t->numel()}, torch::kFloat32).copy_(*t);
    }

    /** The row-range [r0, r0 + n) of an output as a pointer for the kernels (nullptr when not wanted). */
    static float *at(const torch::Tensor &t, int64_t r0) { return t.defined() ? t.data_ptr<float>() + r0 : nullptr; }
};

/** The models of a call (strong, then weak if any), checked against each other and against what is asked. */
std::vector<Side> sides_of(const wmss_torch_fused_head_args &a) {
    std::vector<Side> sides;
    sides.emplace_back(a.strong, "strong", a.rows);
    if (a.weak) sides.emplace_back(a.weak, "weak", a.rows);
    const Side &s = sides[0];
    const int64_t V = s.w.size(0);
    if (a.weak && sides[1].w.size(0) != V)
        throw Error{WMSS_ERR_SHAPE, "the strong model's vocabulary has " + str(V) + " tokens, the weak model's " +
                                        str(sides[1].w.size(0))};
    for (const Side &d : sides) {
        if (d.h.device() != s.h.device()) throw Error{WMSS_ERR_ARGUMENT, "strong and weak live on different devices"};
        if (d.h.scalar_type() != s.h.scalar_type())
            throw Error{WMSS_ERR_ARGUMENT, "strong and weak compute in different precisions (fp32 and bf16)"};
    }
    if (a.grad_hidden_strong && !s.grad)
        throw Error{WMSS_ERR_ARGUMENT, "grad_hidden_strong needs a strong forward_hidden with gradients"};
    if (a.grad_hidden_weak && !sides[1].grad)
        throw Error{WMSS_ERR_ARGUMENT, "grad_hidden_weak needs a trainable weak model's forward_hidden with gradients"};
    return sides;
}

/** Each side's chunk buffer, d loss / d hidden, and head gradient (the parameter's own, created if absent). */
void allocate(std::vector<Side> &sides, int64_t rows_per_chunk, int64_t N, const torch::TensorOptions &zopt) {
    const int64_t V = sides[0].w.size(0);
    for (Side &d : sides) {
        d.z = chunk_logits(std::min(rows_per_chunk, std::max<int64_t>(N, 1)), V, rows_per_chunk < N, zopt);
        if (!d.grad) continue;
        d.gh = torch::empty({N, d.width()}, zopt);
        d.gw = d.param.grad();
        d.gw_fresh = !d.gw.defined();
        if (d.gw_fresh) {
            d.param.mutable_grad() = torch::empty_like(d.param);
            d.gw = d.param.grad();
        }
    }
}

/** What the diagnostics read of the chunk's logits before the mix overwrites them: entropies, the non-target logit. */
void diagnostics(const torch::Tensor &zs, const torch::Tensor &zw, const torch::Tensor &y, int64_t r0,
                 const RowOutputs &out, const torch::Tensor &status, uint32_t flags) {
    if (out.ent_s.defined()) entropy(zs, RowOutputs::at(out.ent_s, r0), status, flags);
    if (out.ent_w.defined()) entropy(zw, RowOutputs::at(out.ent_w, r0), status, flags);
    if (!out.non_target.defined()) return;
    // mean of the logits without the label's: (sum - z[y]) / (V - 1); all V of them for an ignored row
    const int64_t V = zs.size(1);
    const torch::Tensor sum = zs.sum(1, false, torch::kFloat64);
    const torch::Tensor has = y.ne(WMSS_IGNORE_INDEX);
    const torch::Tensor zy = zs.gather(1, y.clamp_min(0).unsqueeze(1)).squeeze(1).to(torch::kFloat64);
    const torch::Tensor mean = torch::where(has, (sum - zy) / (double)std::max<int64_t>(V - 1, 1), sum / (double)V);
    out.non_target.narrow(0, r0, zs.size(0)).copy_(V == 1 ? torch::where(has, torch::zeros_like(sum), sum) : mean);
}

/** The chunk's ce_mix: the loss and statistics rows, both gradients in place of the logits where wanted. */
void mix(const wmss_torch_fused_head_args &a, const std::vector<Side> &sides, const torch::Tensor &zs,
         const torch::Tensor &zw, const torch::Tensor &y, int64_t r0, const RowOutputs &out, const torch::Tensor &status) {
    const int64_t V = zs.size(1);
    wmss_ce_mix_args c = wmss_ce_mix_args_default();
    c.dtype = wmss_dtype_of(zs);
    c.flags = a.flags & WMSS_FLAG_ALLOW_NONFINITE;
    c.rows = zs.size(0);
    c.vocab = V;
    c.z_strong = zs.data_ptr();
    c.ld_strong = V;
    c.z_weak = zw.data_ptr();
    c.ld_weak = V;
    c.labels = y.data_ptr<int64_t>();
    c.lambda = a.lambda;
    c.inv_norm = a.inv_norm;
    c.loss = RowOutputs::at(out.loss, r0);
    if (sides[0].grad || out.grad_sq.defined()) {
        c.grad_strong = zs.data_ptr(); // in place
        c.ld_grad_strong = V;
    }
    if (sides.size() > 1 && sides[1].grad) {
        c.grad_weak = zw.data_ptr();
        c.ld_grad_weak = V;
    }
    c.lse = RowOutputs::at(out.lse, r0);
    c.entropy = RowOutputs::at(out.ent, r0);
    ce_mix(c, zs, status);
    if (out.grad_sq.defined()) // reduced in fp32 without an fp32 copy of the chunk
        out.grad_sq.narrow(0, r0, c.rows).copy_(at::linalg_vector_norm(zs, 2, std::vector<int64_t>{1}, false, torch::kFloat32).pow(2));
}

/** A side's d loss / d hidden rows and head gradient from the chunk's logit gradient (in its z). */
void accumulate_gradients(Side &d, int64_t r0, int64_t n) {
    const int64_t V = d.w.size(0);
    const torch::Tensor g = d.z.narrow(0, 0, n), hc = d.h.narrow(0, r0, n);
    torch::Tensor gh = d.gh.narrow(0, r0, n);
    at::mm_out(gh, g, d.w);
    // The head gradient in slices of the vocabulary on the CPU: OpenBLAS packs the [n, V] operand of one whole
    // product into its per-thread buffers (128 MiB reserved each), and the pages it touches stay resident (measured:
    // 148 MiB more than the bodies touch, at Qwen3's vocabulary); slices of kGradSlice rows bound that by
    // n x kGradSlice floats.
    const int64_t slice = g.is_cpu() ? kGradSlice : V;
    for (int64_t v0 = 0; v0 < V; v0 += slice) {
        const int64_t m = std::min(slice, V - v0);
        head_grad(d.gw.narrow(0, v0, m), g.narrow(1, v0, m).t(), hc, d.gw_fresh);
    }
    d.gw_fresh = false;
}

/** A non-finite row the device reported (the CPU kernel fails at once instead): read once, after every chunk. */
void check_device_status(const torch::Tensor &status, uint32_t flags) {
    if (!status.defined()) return;
    const int64_t bad = status.cpu()[0].item<int64_t>();
    if (bad != INT64_MAX && !(flags & WMSS_FLAG_ALLOW_NONFINITE))
        throw Error{WMSS_ERR_NONFINITE, "non-finite logits or loss in row " + str(bad)};
}

/** Each trained body's backward from its d loss / d hidden; the graph is then spent and freed. */
void backward_bodies(std::vector<Side> &sides) {
    torch::AutoGradMode grad_mode(true);
    for (Side &d : sides) {
        if (!d.grad) continue;
        d.state->hidden.backward(d.gh);
        *d.state = wmss::HiddenState();
    }
}

void fused_head(const wmss_torch_fused_head_args &a) {
    validate(a);
    std::vector<Side> sides = sides_of(a);
    const Side &s = sides[0];
    const int64_t V = s.w.size(0), N = a.rows;
    check_labels(a.labels, N, V);
    const int64_t rows_per_chunk = chunk_rows(N, V, (int)sides.size(), a.chunk_bytes, s.h.element_size());

    wmss::use_all_cores();
    torch::NoGradGuard no_grad;
    const auto dev = s.h.device();
    const c10::DeviceGuard on_device(dev); // the ce_mix kernels launch on the current device: the models'
    const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(dev);
    const torch::Tensor status =
        dev.is_cuda() ? torch::full({2}, INT64_MAX, torch::TensorOptions().dtype(torch::kInt64).device(dev)) : torch::Tensor();
    const torch::Tensor labels = torch::from_blob(const_cast<int64_t *>(a.labels), {N}, torch::kInt64).to(dev);
    const RowOutputs out(a, f32);
    allocate(sides, rows_per_chunk, N, torch::TensorOptions().dtype(s.h.scalar_type()).device(dev));
    for (int64_t r0 = 0; r0 < N; r0 += rows_per_chunk) {
        const int64_t n = std::min(rows_per_chunk, N - r0);
        for (Side &d : sides) { // the chunk's logits, each model with its own head weight
            torch::Tensor z = d.z.narrow(0, 0, n);
            at::mm_out(z, d.h.narrow(0, r0, n), d.w.t());
        }
        const torch::Tensor zs = s.z.narrow(0, 0, n), zw = sides.size() == 1 ? zs : sides[1].z.narrow(0, 0, n);
        const torch::Tensor y = labels.narrow(0, r0, n);
        diagnostics(zs, zw, y, r0, out, status, a.flags);
        mix(a, sides, zs, zw, y, r0, out, status);
        for (Side &d : sides)
            if (d.grad) accumulate_gradients(d, r0, n);
    }
    for (Side &d : sides) {
        d.z = torch::Tensor();
        if (d.grad && d.gw_fresh) d.gw.zero_(); // no rows: a zero gradient, as the full path gives
    }
    check_device_status(status, a.flags);
    out.store(a);
    if (a.grad_hidden_strong) torch::from_blob(a.grad_hidden_strong, s.gh.sizes(), torch::kFloat32).copy_(s.gh);
    if (a.grad_hidden_weak) torch::from_blob(a.grad_hidden_weak, sides[1].gh.sizes(), torch::kFloat32).copy_(sides[1].gh);
    if (!(a.flags & WMSS_TORCH_HEAD_NO_BACKWARD)) backward_bodies(sides);
}

}  // namespace

extern "C" {

int wmss_torch_fused_head(const wmss_torch_fused_head_args *args) {
    return wmss::torch_guard("wmss_torch_fused_head", [&] {
        if (!args) throw Error{WMSS_ERR_NULL_POINTER, "the argument descriptor is NULL"};
        if (args->size != sizeof(wmss_torch_fused_head_args))
            throw Error{WMSS_ERR_VERSION, "wmss_torch_fused_head_args.size is " + str((int64_t)args->size) +
                                              ", this library expects " + str(sizeof(wmss_torch_fused_head_args))};
        fused_head(*args);
    });
}

int wmss_torch_fused_head_plan(int64_t rows, int64_t vocab, int models, int64_t chunk_bytes, int64_t *out2) {
    return wmss::torch_guard("wmss_torch_fused_head_plan", [&] {
        if (!out2) throw Error{WMSS_ERR_NULL_POINTER, "out2 is NULL"};
        const int64_t c = chunk_rows(rows, vocab, models, chunk_bytes);
        out2[0] = c;
        out2[1] = (rows + c - 1) / c;
    });
}

}  // extern "C"
