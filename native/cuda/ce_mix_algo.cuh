// ce_mix_algo.cuh — the per-element, per-block and per-row pieces of the CUDA ce_mix kernels as __host__ __device__
// functions, so the host emulation (ce_mix_host.cpp, tested on every CI run) executes the same arithmetic as the GPU:
// online (max, sum-exp, entropy) statistics, their exact merge across threads, warps and the blocks of a split row,
// bf16 conversion, the gradient of one element, and the launch plan (split-V / shared-memory residency).
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__CUDACC__)
#define WMSS_HD __host__ __device__ __forceinline__
#else
#define WMSS_HD inline
#endif

namespace wmss_algo {

constexpr int64_t kIgnore = -100;
enum MixMode { kMixBoth = 0, kMixStrongOnly = 1, kMixWeakOnly = 2 };

WMSS_HD int mix_mode(float lambda) { return lambda == 1.0f ? kMixStrongOnly : lambda == 0.0f ? kMixWeakOnly : kMixBoth; }

/**
 * lambda = 0 / 1 use one input only, so 0 * inf never happens (as on the CPU). The fused multiply-add is written
 * out: nvcc would contract lam * zs + mu * zw on its own, and the host emulation must do the same arithmetic.
 */
WMSS_HD float mix(float zs, float zw, int mode, float lam, float mu) {
    return mode == kMixStrongOnly ? zs : mode == kMixWeakOnly ? zw : fmaf(lam, zs, mu * zw);
}

WMSS_HD float bf16_to_f32(uint16_t h) {
    const uint32_t b = (uint32_t)h << 16;
#if defined(__CUDA_ARCH__)
    return __uint_as_float(b);
#else
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
#endif
}

/** Round to nearest even, NaN stays (quiet) NaN: bit-identical to the CPU kernels. */
WMSS_HD uint16_t f32_to_bf16(float f) {
#if defined(__CUDA_ARCH__)
    uint32_t b = __float_as_uint(f);
#else
    uint32_t b;
    memcpy(&b, &f, sizeof b);
#endif
    if (f != f) return (uint16_t)((b >> 16) | 0x40u);
    b += 0x7FFFu + ((b >> 16) & 1u);
    return (uint16_t)(b >> 16);
}

/**
 * A product that is never fused into a following add: nvcc contracts a * b + c into one FMA (the host, built with
 * -ffp-contract=off, does not), so products whose sum must round the same on both sides are spelled with this.
 */
WMSS_HD float mul_rn(float a, float b) {
#if defined(__CUDA_ARCH__)
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

/** Running statistics of a set of logits: max, sum exp(z - max), sum exp(z - max) * (z - max), NaN seen. */
struct Stats {
    float max, sum, tsum;
    int nan;
};

WMSS_HD Stats stats_empty() { return Stats{-INFINITY, 0.0f, 0.0f, 0}; }

/**
 * Adds one logit with one exp: the sums are rescaled only when the max grows. -inf contributes nothing. When the
 * rescale factor underflows to 0 the old terms vanish outright: with a mask value of -FLT_MAX, d * sum would
 * overflow to -inf and 0 * -inf would poison the row with NaN.
 */
WMSS_HD void stats_add(Stats &s, float x) {
    if (x != x) {
        s.nan = 1;
    } else if (x > s.max) {
        if (s.sum > 0.0f) {
            const float d = s.max - x, e = expf(d);
            s.tsum = e > 0.0f ? mul_rn(e, fmaf(d, s.sum, s.tsum)) : 0.0f;
            s.sum = mul_rn(s.sum, e);
        }
        s.max = x;
        s.sum += 1.0f; // exp(x - x); its (x - max) term is 0
    } else {
        const float d = x - s.max, e = expf(d);
        if (e > 0.0f) { // also skips -inf (and -FLT_MAX far below the max, where d may be -inf)
            s.sum += e;
            s.tsum = fmaf(e, d, s.tsum);
        }
    }
}

/** The term of one side of a merge, rescaled by e = exp(d); 0 when e underflows (see stats_add). */
WMSS_HD float stats_rescaled_tsum(const Stats &a, float d, float e) { return e > 0.0f ? mul_rn(e, fmaf(d, a.sum, a.tsum)) : 0.0f; }

/** Exact merge of two partial statistics (commutative, so butterfly reductions agree in every lane). */
WMSS_HD Stats stats_merge(const Stats &a, const Stats &b) {
    const int nan = a.nan | b.nan;
    if (!(b.sum > 0.0f)) return Stats{a.max, a.sum, a.tsum, nan};
    if (!(a.sum > 0.0f)) return Stats{b.max, b.sum, b.tsum, nan};
    const float m = fmaxf(a.max, b.max);
    const float da = a.max - m, db = b.max - m;
    const float ea = expf(da), eb = expf(db);
    return Stats{m, fmaf(a.sum, ea, b.sum * eb), stats_rescaled_tsum(a, da, ea) + stats_rescaled_tsum(b, db, eb), nan};
}

/** What a finished row needs: lse, entropy, and the factors of the gradient sweep. */
struct RowResult {
    float max, log_sum, inv_sum, lse, entropy;
    int undefined; // NaN or +inf logits, or all -inf: no distribution
};

WMSS_HD RowResult row_finish(const Stats &s) {
    RowResult r;
    r.undefined = s.nan || !(s.max > -INFINITY) || s.max == INFINITY || !(s.sum > 0.0f) || s.tsum != s.tsum;
    r.max = s.max;
    r.log_sum = logf(s.sum);
    r.inv_sum = 1.0f / s.sum;
    r.lse = r.undefined ? NAN : s.max + r.log_sum;
    r.entropy = r.undefined ? NAN : fmaf(-s.tsum, r.inv_sum, r.log_sum);
    return r;
}

/** lse - z[y]; +inf when the label's logit is -inf. */
WMSS_HD float row_loss(const RowResult &r, float zy) { return (r.max - zy) + r.log_sum; }

/** exp(z - max): the unnormalised probability of one element. */
WMSS_HD float row_exp(float z, const RowResult &r) { return expf(z - r.max); }

/** One gradient element k * (softmax - onehot) from its row_exp, the label column computed before any rounding. */
WMSS_HD float grad_elem(float e, const RowResult &r, float k, bool is_label) {
    return is_label ? k * fmaf(e, r.inv_sum, -1.0f) : k * (e * r.inv_sum);
}

/**
 * The largest cluster a launch may use: clusters (and the fused kernel's cross-block merge, compiled only for
 * __CUDA_ARCH__ >= 900) need a device of compute capability 9+ that supports cluster launch AND code built from
 * PTX of version 90+ — a library built for sm_80 only runs JIT-compiled pre-sm_90 code on an H100, whose split
 * rows would trap. Otherwise a row is one block.
 */
WMSS_HD int cluster_limit(int cc_major, int cluster_launch, int ptx_version) {
    return cc_major >= 9 && cluster_launch && ptx_version >= 90 ? 8 : 1;
}

/** How one launch covers [rows, vocab]: `split` blocks per row (a thread-block cluster when > 1). */
struct Plan {
    int split;       // blocks per row, 1..max_cluster
    int threads;     // threads per block
    int64_t chunk;   // elements per block, a multiple of 8 (16-byte loads for fp32 and bf16)
    int resident;    // the block's mixed logits stay in shared memory between the two sweeps
    int64_t smem;    // dynamic shared memory bytes per block
};

/**
 * Chooses the split: enough blocks per row that a block's chunk of mixed fp32 logits fits the shared-memory
 * budget (so HBM is read once), and enough blocks overall to fill the GPU when rows are few. Without clusters
 * (sm_80) a row is one block, kept resident when it fits.
 */
WMSS_HD Plan plan_ce_mix(int64_t rows, int64_t vocab, int sm_count, int max_cluster, int64_t smem_budget) {
    Plan p;
    p.threads = 512;
    const int64_t max_split = max_cluster > 1 ? max_cluster : 1;
    int64_t split = 1;
    const int64_t need_for_smem = (vocab * 4 + smem_budget - 1) / smem_budget;
    if (need_for_smem > split) split = need_for_smem;
    const int64_t for_occupancy = rows > 0 ? (2 * (int64_t)sm_count + rows - 1) / rows : 1;
    if (for_occupancy > split) split = for_occupancy;
    if (split > max_split) split = max_split;
    int64_t chunk = (vocab + split - 1) / split;
    chunk = (chunk + 7) / 8 * 8;
    split = (vocab + chunk - 1) / chunk; // no empty blocks
    p.split = (int)split;
    p.chunk = chunk;
    p.resident = chunk * 4 <= smem_budget;
    p.smem = p.resident ? chunk * 4 : 0;
    return p;
}

}  // namespace wmss_algo
