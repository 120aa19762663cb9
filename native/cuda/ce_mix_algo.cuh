// ce_mix_algo.cuh — the per-element, per-block and per-row pieces of the CUDA ce_mix kernels as __host__ __device__
// functions, so the host emulation (ce_mix_host.cpp, tested on every CI run) executes the same arithmetic as the GPU:
// online (max, sum-exp, entropy) statistics, their exact merge across threads, warps and the blocks of a split row,
// bf16 conversion, the gradient of one element, and the launch plan (split-V / shared-memory residency).
#pragma once

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "wmss.h"

#if defined(__CUDACC__)
#define WMSS_HD __host__ __device__ __forceinline__
#else
#define WMSS_HD inline
#endif

/**
 * The variant in force for this process (wmss_cuda_set_variant; else WMSS_CUDA_CE_MIX_VARIANT, read once; else
 * auto) in *variant: WMSS_OK, or WMSS_ERR_ARGUMENT when the environment names no variant (ce_mix_host.cpp).
 */
extern "C" int wmss_cuda_selected_variant(int *variant);

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

/**
 * Running statistics of a set of logits: max, sum exp(z - max), sum exp(z - max) * (z - max), and whether a logit
 * without a place in a distribution (NaN or +inf) was seen. Such a logit only sets `bad`, never the sums: a +inf
 * max would make every later rescale inf - inf = NaN, and a merge must never be able to drop the evidence.
 */
struct Stats {
    float max, sum, tsum;
    int bad;
};

WMSS_HD Stats stats_empty() { return Stats{-INFINITY, 0.0f, 0.0f, 0}; }

/**
 * Adds one logit with one exp: the sums are rescaled only when the max grows. -inf contributes nothing. When the
 * rescale factor underflows to 0 the old terms vanish outright: with a mask value of -FLT_MAX, d * sum would
 * overflow to -inf and 0 * -inf would poison the row with NaN.
 */
WMSS_HD void stats_add(Stats &s, float x) {
    if (!(x < INFINITY)) { // NaN or +inf
        s.bad = 1;
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

/**
 * Exact merge of two partial statistics (commutative, so butterfly reductions agree in every lane). An empty side
 * (sum 0) is skipped, but its `bad` flag is kept, and a NaN sum (which stats_add never produces) counts as bad.
 */
WMSS_HD Stats stats_merge(const Stats &a, const Stats &b) {
    const int bad = a.bad | b.bad | (a.sum != a.sum) | (b.sum != b.sum);
    if (!(b.sum > 0.0f)) return Stats{a.max, a.sum, a.tsum, bad};
    if (!(a.sum > 0.0f)) return Stats{b.max, b.sum, b.tsum, bad};
    const float m = fmaxf(a.max, b.max);
    const float da = a.max - m, db = b.max - m;
    const float ea = expf(da), eb = expf(db);
    return Stats{m, fmaf(a.sum, ea, b.sum * eb), stats_rescaled_tsum(a, da, ea) + stats_rescaled_tsum(b, db, eb), bad};
}

/** What a finished row needs: lse, entropy, and the factors of the gradient sweep. */
struct RowResult {
    float max, log_sum, inv_sum, lse, entropy;
    int undefined; // NaN or +inf logits, or all -inf: no distribution
};

WMSS_HD RowResult row_finish(const Stats &s) {
    RowResult r;
    r.undefined = s.bad || !(s.max > -INFINITY) || s.max == INFINITY || !(s.sum > 0.0f) || s.tsum != s.tsum;
    r.max = s.max;
    r.log_sum = logf(s.sum);
    r.inv_sum = 1.0f / s.sum;
    r.lse = r.undefined ? NAN : s.max + r.log_sum;
    r.entropy = r.undefined ? NAN : fmaf(-s.tsum, r.inv_sum, r.log_sum);
    return r;
}

/** One row's label: y (or kIgnore), whether it is out of range (neither a class nor the ignore index), whether a class. */
struct RowLabel {
    int64_t y;
    bool bad, labelled;
};

WMSS_HD RowLabel row_label(const wmss_ce_mix_args &a, int64_t row) {
    const int64_t y = a.labels ? a.labels[row] : kIgnore;
    const bool bad = y != kIgnore && (y < 0 || y >= a.vocab);
    return RowLabel{y, bad, y != kIgnore && !bad};
}

/**
 * What a finished row writes besides lse and entropy, decided here for every kernel and the host emulation: its loss
 * (NaN for a label out of range or a labelled row without a distribution, 0 for an ignored row, else lse - z[y]:
 * loss_if_defined), the status word it raises (-1: none; 0: not finite, ignored rows included; 1: label out of
 * range), and whether the gradient sweep runs; where it does not, the row's gradients are filled with fill (NaN
 * where a label asked for a gradient, 0 for an ignored row).
 */
struct RowOutcome {
    float loss;
    int status;
    bool sweep;
    float fill;
};

WMSS_HD RowOutcome row_outcome(bool undefined, const RowLabel &l, float loss_if_defined) {
    if (l.bad) return RowOutcome{NAN, 1, false, NAN};
    if (!l.labelled) return RowOutcome{0.0f, undefined ? 0 : -1, false, 0.0f};
    const float loss = undefined ? NAN : loss_if_defined;
    return RowOutcome{loss, isfinite(loss) ? -1 : 0, !undefined, NAN};
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

// ---------------------------------------------------------------- variants of the fused kernel

/**
 * The fused kernel's variants, chosen at run time (wmss_cuda_set_variant, or WMSS_CUDA_CE_MIX_VARIANT read once):
 *   v1  online statistics, the row's fp32 mixed logits resident in shared memory, clusters of <= 8 blocks of 512
 *       threads, 112 KiB per block (2 blocks per SM): the first kernel;
 *   v2  v1 with clusters of up to 16 (non-portable) and 72 KiB per block: 3 blocks per SM (occupancy);
 *   v3  the row's raw inputs resident in shared memory, brought in by bulk copies (TMA, cp.async.bulk) completing
 *       on an mbarrier; three phases over shared memory (max, then sum exp / entropy, then gradients) with one
 *       exp2 per element per phase, the label column fixed up once; packed bf16 stores; clusters of up to 16;
 *   v4  v3 with plain 16-byte loads instead of the bulk copies (what TMA adds);
 *   v5  for a few long rows: a row over as many blocks as fill the GPU, in two launches (partial statistics to a
 *       small stream-ordered workspace, then merge and gradients), ce_mix_two_pass.cuh.
 * A row too long for a variant's shared memory streams twice through v1's non-resident path. "auto" is v3, or v5
 * where v3's clusters would occupy fewer blocks than the GPU has SMs (prefer_two_pass).
 */
enum Variant { kVariantAuto = 0, kVariantV1 = 1, kVariantV2 = 2, kVariantV3 = 3, kVariantV4 = 4, kVariantV5 = 5, kVariantCount = 6 };

inline const char *variant_name(int v) {
    static const char *const names[kVariantCount] = {"auto", "v1", "v2", "v3", "v4", "v5"};
    return v >= 0 && v < kVariantCount ? names[v] : "?";
}

/**
 * The variant "auto" stands for, by dtype, as measured on an H200 (benchmarks/RESULTS.md, 2026-12-04): bf16 v3 (the
 * raw inputs in shared memory: 68-94% of copy, against v1's 41-57%), fp32 v2 (clusters of up to 16: 77-94%, v3 58-78%).
 * A few long rows take v5 where prefer_two_pass says so.
 */
inline int auto_variant(int dtype) { return dtype == WMSS_DTYPE_BF16 ? kVariantV3 : kVariantV2; }

/** Shared-memory budgets per block: v1 (2 blocks per SM), v2 (3), and the three-phase variants' target (3). */
constexpr int64_t kV1SmemBudget = 112 * 1024;
constexpr int64_t kV2SmemBudget = 72 * 1024;
constexpr int64_t kTmaSmemTarget = 74 * 1024;
/** cudaDevAttrMaxSharedMemoryPerBlockOptin of an H100/H200 (227 KiB): the host emulation's device. */
constexpr int64_t kH100SmemOptin = 227 * 1024;

/** Constants of the three-phase variants: exp(d) = exp2(d * log2 e); d below kDLo contributes 0. */
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kDLo = -128.0f;

/** exp(d) for d <= 0 as the three-phase kernels compute it: one multiply and the hardware's exp2 (ex2.approx). */
WMSS_HD float exp_fast(float d) {
#if defined(__CUDA_ARCH__)
    float r;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(r) : "f"(d * kLog2e));
    return r;
#else
    return exp2f(d * kLog2e);
#endif
}

/**
 * Where a block's chunk [c0, c1) lives in a shared-memory region: element i at byte shift + (i - c0) * es, shift
 * being the global address's offset in its 16-byte granule, so that the global granules map onto aligned shared
 * granules (the bulk copy moves the aligned middle [a0, a1) of the chunk; threads load the head and tail).
 */
struct Region {
    int shift;          // bytes
    int64_t head;       // elements before the first 16-byte global boundary (<= n)
    int64_t mid_bytes;  // bytes of whole granules after the head
    int64_t bytes;      // the region's size in shared memory, a multiple of 16
};

WMSS_HD Region region_of(uintptr_t addr, int64_t n, int es) {
    Region r;
    r.shift = (int)(addr % 16);
    int64_t head = r.shift ? (16 - r.shift) / es : 0;
    r.head = head < n ? head : n;
    r.mid_bytes = (n - r.head) * es / 16 * 16;
    r.bytes = (r.shift + n * es + 15) / 16 * 16;
    return r;
}

/**
 * How the threads of a three-phase block walk their chunk: with `vec`, thread t takes head element t (if any),
 * then 16-byte groups t, t + T, ... of the aligned middle, then tail element t (if any); without (the inputs or
 * gradients sit at different offsets within their 16-byte granules), elements t, t + T, ... one by one.
 */
struct Walk {
    int vec;            // 16-byte groups
    int64_t head;       // elements before the groups
    int64_t groups;     // 16-byte groups
    int64_t tail0;      // first element (relative to c0) after the groups
};

WMSS_HD Walk walk_of(int vec, int64_t n, int64_t head, int es) {
    Walk w;
    w.vec = vec;
    if (!vec) {
        w.head = 0, w.groups = 0, w.tail0 = 0;
        return w;
    }
    const int per = 16 / es;
    w.head = head;
    w.groups = (n - head) / per;
    w.tail0 = head + w.groups * per;
    return w;
}

/** The plan of the three-phase variants: the chunk of both raw inputs (es * inputs bytes per element) resident. */
WMSS_HD Plan plan_ce_mix_tma(int64_t rows, int64_t vocab, int es, int inputs, int sm_count, int max_cluster,
                             int64_t smem_target, int64_t smem_max) {
    Plan p;
    p.threads = 512;
    const int64_t per = (int64_t)es * inputs, max_split = max_cluster > 1 ? max_cluster : 1;
    // Region bytes of a chunk: its elements plus up to 16 bytes of granule slack per input.
    int64_t split = (vocab * per + smem_target - 1) / smem_target;
    const int64_t for_occupancy = rows > 0 ? (2 * (int64_t)sm_count + rows - 1) / rows : 1;
    if (for_occupancy > split) split = for_occupancy;
    if (split < 1) split = 1;
    if (split > max_split) split = max_split;
    int64_t chunk = (vocab + split - 1) / split;
    chunk = (chunk + 7) / 8 * 8;
    split = (vocab + chunk - 1) / chunk;
    p.split = (int)split;
    p.chunk = chunk;
    p.smem = chunk * per + 16 * inputs;
    p.resident = p.smem <= smem_max;
    if (!p.resident) p.smem = 0;
    return p;
}

/** v5's plan: about 4 blocks of 256 threads per SM over all rows, chunks of at least 2048 elements. */
WMSS_HD Plan plan_ce_mix_two_pass(int64_t rows, int64_t vocab, int sm_count) {
    Plan p;
    p.threads = 256;
    int64_t split = rows > 0 ? (4 * (int64_t)sm_count + rows - 1) / rows : 1;
    if (split < 1) split = 1;
    int64_t chunk = (vocab + split - 1) / split;
    chunk = (chunk + 7) / 8 * 8;
    if (chunk < 2048) chunk = 2048;
    p.split = (int)((vocab + chunk - 1) / chunk);
    p.chunk = chunk;
    p.resident = 0;
    p.smem = 0;
    return p;
}

/** auto's choice between v3 and v5: v5 where v3's clusters would give the GPU fewer blocks than it has SMs. */
WMSS_HD bool prefer_two_pass(int64_t rows, int64_t vocab, int es, int inputs, int sm_count, int max_cluster, int64_t smem_max) {
    const Plan p = plan_ce_mix_tma(rows, vocab, es, inputs, sm_count, max_cluster, kTmaSmemTarget, smem_max);
    return max_cluster > 1 && rows * p.split < sm_count;
}

}  // namespace wmss_algo
