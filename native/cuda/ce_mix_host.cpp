// wmss_cuda_host_ce_mix: the CUDA fused kernel's algorithm executed on the CPU, block by block and lane by lane,
// with the same functions (ce_mix_algo.cuh), the same launch plan (for a chosen SM count and cluster size: sm_90
// or sm_80), the same element-to-thread assignment (16-byte vectors when the row's chunk is 16-byte aligned, as the
// device decides from its own pointers) and the same reduction order (warp butterflies, warps in order, cluster
// ranks in order). Built with or without CUDA (and with -ffp-contract=off, so the products the algorithm keeps
// unfused stay unfused, as on the device), so every CI run tests the GPU algorithm against the float64 reference.
// What differs from the device: expf/logf come from the host libm.
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

template <typename T>
int64_t run(const wmss_ce_mix_args &a, const Plan &p) {
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
        const int64_t y = a.labels ? a.labels[row] : kIgnore;
        const bool labelled = y != kIgnore;
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
        const float zy = labelled ? mix(ld1(zs, y), ld1(zw, y), mode, lam, mu) : 0.0f;
        auto x_at = [&](int64_t i) { return mix(ld1(zs, i), ld1(zw, i), mode, lam, mu); };
        Stats row_stats = stats_empty();
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
            row_stats = stats_merge(row_stats, block_reduce(lanes));
        }
        const RowResult rr = row_finish(row_stats);
        if (a.lse) a.lse[row] = rr.lse;
        if (a.entropy) a.entropy[row] = rr.entropy;
        bool bad = rr.undefined;
        if (!labelled) {
            if (a.loss) a.loss[row] = 0.0f;
            fill(0.0f);
        } else if (rr.undefined) {
            if (a.loss) a.loss[row] = NAN;
            fill(NAN);
        } else {
            const float loss = row_loss(rr, zy);
            if (a.loss) a.loss[row] = loss;
            bad = !std::isfinite(loss);
            const float ks = lam * a.inv_norm, kw = mu * a.inv_norm;
            for (int64_t i = 0; i < V; i++) {
                const float e = row_exp(x_at(i), rr);
                if (gs) st1(gs, i, grad_elem(e, rr, ks, i == y));
                if (gw) st1(gw, i, grad_elem(e, rr, kw, i == y));
            }
        }
        if (bad && first_bad < 0) first_bad = row;
    }
    return first_bad;
}

}  // namespace

extern "C" int wmss_cuda_host_ce_mix(const wmss_ce_mix_args *args, int sm_count, int max_cluster, int split) {
    const char *fn = "wmss_cuda_host_ce_mix";
    int st = wmss_check_ce_mix_args(args, fn, WMSS_LABELS_ON_HOST, 0);
    if (st) return st;
    if (split < 0 || split > 64 || sm_count < 0 || max_cluster < 0 || max_cluster > 16)
        return wmss_fail(WMSS_ERR_ARGUMENT, "%s: split = %d, sm_count = %d, max_cluster = %d", fn, split, sm_count,
                         max_cluster);
    const wmss_ce_mix_args &a = *args;
    Plan p = plan_ce_mix(a.rows, a.vocab, sm_count > 0 ? sm_count : 132, max_cluster > 0 ? max_cluster : 8, 112 * 1024);
    if (split > 0) { // forced split, e.g. to test the cluster merge on small vocabularies
        p.chunk = ((a.vocab + split - 1) / split + 7) / 8 * 8;
        p.split = (int)((a.vocab + p.chunk - 1) / p.chunk);
    }
    const int64_t first_bad = a.dtype == WMSS_DTYPE_BF16 ? run<uint16_t>(a, p) : run<float>(a, p);
    if (first_bad >= 0 && !(a.flags & WMSS_FLAG_ALLOW_NONFINITE))
        return wmss_fail(WMSS_ERR_NONFINITE, "%s: row %lld is not finite", fn, (long long)first_bad);
    return WMSS_OK;
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
