// wmss_cuda_host_ce_mix: the CUDA fused kernel's algorithm executed on the CPU, block by block and lane by lane,
// for the variant in force (wmss_cuda_set_variant, which lives here so that the emulation exists without CUDA),
// with the same functions (ce_mix_algo.cuh), the same launch plan (for a chosen SM count and cluster size: sm_90
// or sm_80), the same element-to-thread assignment (16-byte vectors when the row's chunk is 16-byte aligned, as the
// device decides from its own pointers) and the same reduction order (warp butterflies, warps in order, cluster
// ranks in order or, for v3/v4, by a butterfly over the ranks). Built with or without CUDA (and with
// -ffp-contract=off, so the products the algorithm keeps unfused stay unfused, as on the device), so every CI run
// tests the GPU algorithm against the float64 reference. What differs from the device: expf/logf/exp2f come from
// the host libm (ex2.approx on the device for v3/v4).
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "../common/internal.h"
#include "ce_mix_algo.cuh"

using namespace wmss_algo;

namespace {

/** The butterfly of one warp: after it every lane holds the merge of all 32. */
void warp_butterfly(Stats *lane) {
    for (int m = 16; m > 0; m >>= 1) {
        Stats next[32];
        for (int l = 0; l < 32; l++) next[l] = stats_merge(lane[l], lane[l ^ m]);
        for (int l = 0; l < 32; l++) lane[l] = next[l];
    }
}

Stats block_reduce(std::vector<Stats> &threads) {
    const int warps = (int)threads.size() / 32;
    Stats warp0[32];
    for (int w = 0; w < warps; w++) warp_butterfly(&threads[32 * w]);
    for (int l = 0; l < 32; l++) warp0[l] = l < warps ? threads[32 * l] : stats_empty();
    warp_butterfly(warp0);
    return warp0[0];
}

template <typename T> float ld1(const T *p, int64_t i);
template <> float ld1<float>(const float *p, int64_t i) { return p[i]; }
template <> float ld1<uint16_t>(const uint16_t *p, int64_t i) { return bf16_to_f32(p[i]); }
template <typename T> void st1(T *p, int64_t i, float v);
template <> void st1<float>(float *p, int64_t i, float v) { p[i] = v; }
template <> void st1<uint16_t>(uint16_t *p, int64_t i, float v) { p[i] = f32_to_bf16(v); }

/**
 * v1 and v2: online statistics per thread, merged across lanes, warps and cluster ranks in order (ce_mix.cu); v5
 * (lane_merge): the same blocks' statistics merged as ce_mix_apply_kernel does (lane l takes blocks l, l + 32, ...
 * in order, then the butterfly).
 */
template <typename T>
int64_t run_online(const wmss_ce_mix_args &a, const Plan &p, bool lane_merge) {
    const int64_t V = a.vocab;
    const int mode = mix_mode(a.lambda);
    const float lam = a.lambda, mu = 1.0f - a.lambda;
    int64_t first_bad = -1;
    std::vector<Stats> lanes((size_t)p.threads);
    for (int64_t row = 0; row < a.rows; row++) {
        const T *zs = static_cast<const T *>(a.z_strong) + row * a.ld_strong;
        const T *zw = static_cast<const T *>(a.z_weak) + row * a.ld_weak;
        T *gs = a.grad_strong ? static_cast<T *>(a.grad_strong) + row * a.ld_grad_strong : nullptr;
        T *gw = a.grad_weak ? static_cast<T *>(a.grad_weak) + row * a.ld_grad_weak : nullptr;
        const RowLabel lb = row_label(a, row); // labels were checked: lb.bad is false
        const int64_t y = lb.y;
        const bool labelled = lb.labelled;
        auto fill = [&](float v) {
            for (int64_t i = 0; i < V; i++) {
                if (gs) st1(gs, i, v);
                if (gw) st1(gw, i, v);
            }
        };
        if (!labelled && !a.lse && !a.entropy) {
            if (a.loss) a.loss[row] = 0.0f;
            fill(0.0f);
            continue;
        }
        // An input lambda leaves unused is never read (it may be a dummy buffer).
        auto x_at = [&](int64_t i) {
            return mix(mode != kMixWeakOnly ? ld1(zs, i) : 0.0f, mode != kMixStrongOnly ? ld1(zw, i) : 0.0f, mode, lam, mu);
        };
        const float zy = labelled ? x_at(y) : 0.0f;
        Stats row_stats = stats_empty();
        std::vector<Stats> partials;
        for (int part = 0; part < p.split; part++) { // cluster ranks, merged in order
            const int64_t c0 = part * p.chunk, c1 = c0 + p.chunk < V ? c0 + p.chunk : V;
            constexpr int VEC = 16 / sizeof(T);
            const bool aligned = (uintptr_t)(zs + c0) % 16 == 0 && (uintptr_t)(zw + c0) % 16 == 0;
            const int64_t nvec = aligned ? (c1 - c0) / VEC : 0, i0 = c0 + nvec * VEC;
            for (int t = 0; t < p.threads; t++) {
                Stats s = stats_empty();
                for (int64_t v = t; v < nvec; v += p.threads)
                    for (int k = 0; k < VEC; k++) stats_add(s, x_at(c0 + v * VEC + k));
                for (int64_t i = i0 + t; i < c1; i += p.threads) stats_add(s, x_at(i));
                lanes[(size_t)t] = s;
            }
            const Stats block = block_reduce(lanes);
            row_stats = stats_merge(row_stats, block);
            partials.push_back(block);
        }
        if (lane_merge) {
            Stats l32[32];
            for (int l = 0; l < 32; l++) {
                l32[l] = stats_empty();
                for (size_t q = (size_t)l; q < partials.size(); q += 32) l32[l] = stats_merge(l32[l], partials[q]);
            }
            warp_butterfly(l32);
            row_stats = l32[0];
        }
        const RowResult rr = row_finish(row_stats);
        const RowOutcome o = row_outcome(rr.undefined, lb, row_loss(rr, zy));
        if (a.lse) a.lse[row] = rr.lse;
        if (a.entropy) a.entropy[row] = rr.entropy;
        if (a.loss) a.loss[row] = o.loss;
        if (!o.sweep) {
            fill(o.fill);
        } else {
            const float ks = lam * a.inv_norm, kw = mu * a.inv_norm;
            for (int64_t i = 0; i < V; i++) {
                const float e = row_exp(x_at(i), rr);
                if (gs) st1(gs, i, grad_elem(e, rr, ks, i == y));
                if (gw) st1(gw, i, grad_elem(e, rr, kw, i == y));
            }
        }
        if (o.status >= 0 && first_bad < 0) first_bad = row;
    }
    return first_bad;
}


// ---------------------------------------------------------------- v3 / v4: three phases over the resident chunk

/** The butterfly sum of one warp's pairs (lane l adds lane l ^ m, m = 16 .. 1): every lane ends with lane 0's value. */
void warp_sum2(float *s, float *t) {
    for (int m = 16; m > 0; m >>= 1) {
        float ns[32], nt[32];
        for (int l = 0; l < 32; l++) ns[l] = s[l] + s[l ^ m], nt[l] = t[l] + t[l ^ m];
        memcpy(s, ns, sizeof ns);
        memcpy(t, nt, sizeof nt);
    }
}

/**
 * Values summed the way every warp of ce_mix_tma.cuh does: lane l adds values l, l + 32, ... in order (zeros in
 * lanes without one), then the butterfly.
 */
void lanes_sum2(const std::vector<float> &vs, const std::vector<float> &vt, float &S, float &T) {
    float s[32] = {0}, t[32] = {0};
    for (size_t q = 0; q < vs.size(); q++) s[q % 32] += vs[q], t[q % 32] += vt[q];
    warp_sum2(s, t);
    S = s[0], T = t[0];
}

/** The block's sums: each warp's butterfly, then the warps' results (lane order) by one more butterfly. */
void block_sum2(std::vector<float> &s, std::vector<float> &t, float &S, float &T) {
    const int warps = (int)s.size() / 32;
    std::vector<float> ws, wt;
    for (int w = 0; w < warps; w++) {
        warp_sum2(&s[32 * w], &t[32 * w]);
        ws.push_back(s[32 * w]);
        wt.push_back(t[32 * w]);
    }
    lanes_sum2(ws, wt, S, T);
}

template <typename T>
int64_t run_phases(const wmss_ce_mix_args &a, const Plan &p) {
    const int64_t V = a.vocab;
    const int mode = mix_mode(a.lambda);
    const bool use_s = mode != kMixWeakOnly, use_w = mode != kMixStrongOnly;
    const float lam = a.lambda, mu = 1.0f - a.lambda;
    constexpr int ES = (int)sizeof(T), PER = 16 / ES;
    const int nt = p.threads;
    int64_t first_bad = -1;
    std::vector<float> ls((size_t)nt), lt((size_t)nt);
    for (int64_t row = 0; row < a.rows; row++) {
        const T *zs = static_cast<const T *>(a.z_strong) + row * a.ld_strong;
        const T *zw = static_cast<const T *>(a.z_weak) + row * a.ld_weak;
        T *gs = a.grad_strong ? static_cast<T *>(a.grad_strong) + row * a.ld_grad_strong : nullptr;
        T *gw = a.grad_weak ? static_cast<T *>(a.grad_weak) + row * a.ld_grad_weak : nullptr;
        const RowLabel lb = row_label(a, row); // labels were checked: lb.bad is false
        const int64_t y = lb.y;
        const bool labelled = lb.labelled, want_stats = a.lse || a.entropy;
        auto fill = [&](float v) {
            for (int64_t i = 0; i < V; i++) {
                if (gs) st1(gs, i, v);
                if (gw) st1(gw, i, v);
            }
        };
        if (!labelled && !want_stats) {
            if (a.loss) a.loss[row] = 0.0f;
            fill(0.0f);
            continue;
        }
        // The shared-memory image of every block of the row (the inputs, as the bulk copies leave them).
        const std::vector<T> s_img(use_s ? zs : zw, (use_s ? zs : zw) + V), w_img(use_w ? zw : zs, (use_w ? zw : zs) + V);
        auto x_at = [&](int64_t i) {
            return mix(use_s ? ld1(s_img.data(), i) : 0.0f, use_w ? ld1(w_img.data(), i) : 0.0f, mode, lam, mu);
        };
        // Each block's walk (ce_mix_algo.cuh: Walk), decided from the global pointers as on the device.
        std::vector<Walk> walks;
        for (int part = 0; part < p.split; part++) {
            const int64_t c0 = part * p.chunk, c1 = c0 + p.chunk < V ? c0 + p.chunk : V, n = c1 - c0;
            const Region rs = region_of((uintptr_t)(zs + c0), n, ES), rw = region_of((uintptr_t)(zw + c0), n, ES);
            const int sh = use_s ? rs.shift : rw.shift;
            const bool vec = (!use_s || !use_w || rs.shift == rw.shift) && (!gs || (int)((uintptr_t)(gs + c0) % 16) == sh) &&
                             (!gw || (int)((uintptr_t)(gw + c0) % 16) == sh);
            walks.push_back(walk_of(vec, n, use_s ? rs.head : rw.head, ES));
        }
        // Visits thread t's elements of block `part` in the device's order: f(relative index).
        auto each = [&](int part, int t, auto &&f) {
            const int64_t c0 = part * p.chunk, c1 = c0 + p.chunk < V ? c0 + p.chunk : V, n = c1 - c0;
            const Walk &wk = walks[(size_t)part];
            if (wk.vec) {
                if (t < wk.head) f(c0 + t);
                for (int64_t q = t; q < wk.groups; q += nt)
                    for (int j = 0; j < PER; j++) f(c0 + wk.head + q * PER + j);
                if (wk.tail0 + t < n) f(c0 + wk.tail0 + t);
            } else {
                for (int64_t j = t; j < n; j += nt) f(c0 + j);
            }
        };
        // Phase A: the max (exact in any order), per thread, block and cluster.
        float M = -INFINITY;
        for (int part = 0; part < p.split; part++)
            for (int t = 0; t < nt; t++) each(part, t, [&](int64_t i) { M = fmaxf(M, x_at(i)); });
        const float zy = labelled ? x_at(y) : 0.0f; // from the owner block's shared memory
        // Phase B: per-thread sums in walk order, block butterflies, then the ranks' butterfly.
        std::vector<float> rank_s, rank_t;
        for (int part = 0; part < p.split; part++) {
            for (int t = 0; t < nt; t++) {
                float s = 0.0f, tt = 0.0f;
                each(part, t, [&](int64_t i) {
                    const float d = x_at(i) - M, e = exp_fast(d);
                    s += e;
                    tt = fmaf(e, fmaxf(d, kDLo), tt);
                });
                ls[(size_t)t] = s, lt[(size_t)t] = tt;
            }
            float S, Tb;
            block_sum2(ls, lt, S, Tb);
            rank_s.push_back(S);
            rank_t.push_back(Tb);
        }
        float S = rank_s[0], Tsum = rank_t[0];
        if (p.split > 1) lanes_sum2(rank_s, rank_t, S, Tsum);
        const RowResult rr = row_finish(Stats{M, S, Tsum, 0});
        const RowOutcome o = row_outcome(rr.undefined, lb, row_loss(rr, zy));
        const float inv_S = rr.inv_sum;
        if (a.lse) a.lse[row] = rr.lse;
        if (a.entropy) a.entropy[row] = rr.entropy;
        if (a.loss) a.loss[row] = o.loss;
        if (!o.sweep) {
            fill(o.fill);
        } else {
            const float ks = lam * a.inv_norm, kw = mu * a.inv_norm, fs = ks * inv_S, fw = kw * inv_S;
            for (int64_t i = 0; i < V; i++) {
                const float e = exp_fast(x_at(i) - M);
                if (gs) st1(gs, i, e * fs);
                if (gw) st1(gw, i, e * fw);
            }
            const float py_minus_1 = fmaf(exp_fast(zy - M), inv_S, -1.0f);
            if (gs) st1(gs, y, ks * py_minus_1);
            if (gw) st1(gw, y, kw * py_minus_1);
        }
        if (o.status >= 0 && first_bad < 0) first_bad = row;
    }
    return first_bad;
}

// ---------------------------------------------------------------- the variant in force

constexpr int kUnset = -1, kInvalid = -2;
std::atomic<int> g_variant{kUnset};
std::mutex g_env_mu;
std::string g_env_value; // the unknown name WMSS_CUDA_CE_MIX_VARIANT held

int parse_variant(const char *name) {
    for (int v = 0; v < kVariantCount; v++)
        if (strcmp(name, variant_name(v)) == 0) return v;
    return kInvalid;
}

}  // namespace

extern "C" int wmss_cuda_selected_variant(int *variant) {
    int v = g_variant.load(std::memory_order_acquire);
    if (v == kUnset) {
        std::lock_guard<std::mutex> lock(g_env_mu);
        v = g_variant.load(std::memory_order_acquire);
        if (v == kUnset) {
            const char *env = getenv("WMSS_CUDA_CE_MIX_VARIANT");
            v = env && *env ? parse_variant(env) : kVariantAuto;
            if (v == kInvalid) g_env_value = env;
            g_variant.store(v, std::memory_order_release);
        }
    }
    if (v == kInvalid) {
        std::lock_guard<std::mutex> lock(g_env_mu);
        return wmss_fail(WMSS_ERR_ARGUMENT, "WMSS_CUDA_CE_MIX_VARIANT=%s names no variant of the CUDA ce_mix kernel "
                         "(auto, v1, v2, v3, v4, v5)", g_env_value.c_str());
    }
    *variant = v;
    return WMSS_OK;
}

extern "C" int wmss_cuda_set_variant(const char *name) {
    if (!name) return wmss_fail(WMSS_ERR_NULL_POINTER, "wmss_cuda_set_variant: name is NULL");
    const int v = parse_variant(name);
    if (v == kInvalid)
        return wmss_fail(WMSS_ERR_ARGUMENT, "wmss_cuda_set_variant: '%s' is not a variant (auto, v1, v2, v3, v4, v5)", name);
    g_variant.store(v, std::memory_order_release);
    return WMSS_OK;
}

extern "C" const char *wmss_cuda_variant(void) {
    const int v = g_variant.load(std::memory_order_acquire);
    if (v == kInvalid) return "invalid";
    int sel = kVariantAuto;
    if (v == kUnset && wmss_cuda_selected_variant(&sel)) return "invalid";
    return variant_name(v == kUnset ? sel : v);
}

namespace {

/** The plan the device would use for a variant (sm_count SMs, portable cluster limit max_cluster, H100 limits). */
Plan host_plan(const wmss_ce_mix_args &a, int variant, bool automatic, int sm_count, int max_cluster, bool *phases,
               bool *two_pass) {
    const int wide = max_cluster >= 8 ? 16 : max_cluster;
    const int es = a.dtype == WMSS_DTYPE_BF16 ? 2 : 4, inputs = mix_mode(a.lambda) == kMixBoth ? 2 : 1;
    *phases = false;
    *two_pass = variant == kVariantV5 ||
                (automatic && prefer_two_pass(a.rows, a.vocab, es, inputs, sm_count, wide, kH100SmemOptin - 1024));
    if (*two_pass) return plan_ce_mix_two_pass(a.rows, a.vocab, sm_count);
    if (variant == kVariantV3 || variant == kVariantV4) {
        const Plan p = plan_ce_mix_tma(a.rows, a.vocab, es, inputs, sm_count, wide, kTmaSmemTarget, kH100SmemOptin - 1024);
        if (p.resident) {
            *phases = true;
            return p;
        }
    }
    if (variant == kVariantV2) return plan_ce_mix(a.rows, a.vocab, sm_count, wide, kV2SmemBudget);
    return plan_ce_mix(a.rows, a.vocab, sm_count, max_cluster, kV1SmemBudget);
}

/** The emulated launch of a checked descriptor (ce_mix's, or the entropy op's translation). */
int host_launch(const wmss_ce_mix_args *args, int sm_count, int max_cluster, int split, const char *fn) {
    int st;
    if (split < 0 || split > 64 || sm_count < 0 || max_cluster < 0 || max_cluster > 16)
        return wmss_fail(WMSS_ERR_ARGUMENT, "%s: split = %d, sm_count = %d, max_cluster = %d", fn, split, sm_count,
                         max_cluster);
    int variant = kVariantAuto;
    if ((st = wmss_cuda_selected_variant(&variant))) return st;
    const bool automatic = variant == kVariantAuto;
    if (automatic) variant = auto_variant(args->dtype);
    const wmss_ce_mix_args &a = *args;
    bool phases = false, two_pass = false;
    Plan p = host_plan(a, variant, automatic, sm_count > 0 ? sm_count : 132, max_cluster > 0 ? max_cluster : 8, &phases,
                       &two_pass);
    if (split > 0) { // forced split, e.g. to test the cluster merge on small vocabularies
        p.chunk = ((a.vocab + split - 1) / split + 7) / 8 * 8;
        p.split = (int)((a.vocab + p.chunk - 1) / p.chunk);
    }
    const bool bf16 = a.dtype == WMSS_DTYPE_BF16;
    const int64_t first_bad = phases ? (bf16 ? run_phases<uint16_t>(a, p) : run_phases<float>(a, p))
                                     : (bf16 ? run_online<uint16_t>(a, p, two_pass) : run_online<float>(a, p, two_pass));
    if (first_bad >= 0 && !(a.flags & WMSS_FLAG_ALLOW_NONFINITE))
        return wmss_fail(WMSS_ERR_NONFINITE, "%s: row %lld is not finite", fn, (long long)first_bad);
    return WMSS_OK;
}

}  // namespace

extern "C" int wmss_cuda_host_ce_mix(const wmss_ce_mix_args *args, int sm_count, int max_cluster, int split) {
    const char *fn = "wmss_cuda_host_ce_mix";
    const int st = wmss_check_ce_mix_args(args, fn, WMSS_LABELS_ON_HOST, 0);
    return st ? st : host_launch(args, sm_count, max_cluster, split, fn);
}

extern "C" int wmss_cuda_host_entropy(const wmss_entropy_args *args, int sm_count, int max_cluster, int split) {
    const char *fn = "wmss_cuda_host_entropy";
    wmss_ce_mix_args a;
    int st;
    if ((st = wmss_entropy_as_ce_mix(args, fn, &a)) || (st = wmss_check_ce_mix_args(&a, fn, WMSS_LABELS_ON_HOST, 1)))
        return st;
    return host_launch(&a, sm_count, max_cluster, split, fn);
}

extern "C" int wmss_cuda_cluster_limit(int cc_major, int cluster_launch, int ptx_version, int *max_cluster) {
    if (!max_cluster) return wmss_fail(WMSS_ERR_NULL_POINTER, "wmss_cuda_cluster_limit: max_cluster is NULL");
    *max_cluster = cluster_limit(cc_major, cluster_launch, ptx_version);
    return WMSS_OK;
}

extern "C" int wmss_cuda_plan(int64_t rows, int64_t vocab, int sm_count, int max_cluster, int64_t smem_budget,
                              int64_t *out4) {
    if (!out4) return wmss_fail(WMSS_ERR_NULL_POINTER, "wmss_cuda_plan: out is NULL");
    if (rows < 0 || vocab < 1 || sm_count < 1 || max_cluster < 1 || smem_budget < 1024)
        return wmss_fail(WMSS_ERR_ARGUMENT, "wmss_cuda_plan: bad arguments");
    const Plan p = plan_ce_mix(rows, vocab, sm_count, max_cluster, smem_budget);
    out4[0] = p.split;
    out4[1] = p.chunk;
    out4[2] = p.resident;
    out4[3] = p.smem;
    return WMSS_OK;
}
