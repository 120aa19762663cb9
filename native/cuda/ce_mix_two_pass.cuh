// ce_mix_two_pass.cuh — variant v5 of the fused kernel (ce_mix_algo.cuh), included by ce_mix.cu: for a few long
// rows, where one cluster per row (at most 16 blocks) would leave most of the GPU idle, a row is split over as many
// blocks as fill the GPU, in two launches joined by a small stream-ordered workspace (cudaMallocAsync, 16 bytes per
// block and 4 per row, freed in stream order):
//   1. ce_mix_partials_kernel: each block's online statistics of its chunk (v1's sweep: 16-byte loads, stats_add,
//      block_reduce) into the workspace; the label's owner block also stores the label's mixed logit, read before
//      launch 2 writes anything (in place);
//   2. ce_mix_apply_kernel: each block merges its row's partials (warp 0: lane l merges partials l, l + 32, ... in
//      order, then a butterfly: the same value in every block), finishes the row (block 0 writes loss, lse, entropy
//      and the status words) and writes its chunk's gradients, re-reading the chunk (from L2 at these sizes).
#pragma once

namespace {

/** One block's partial statistics in the workspace: max, sum, tsum, bad (as a float 0/1). */
__device__ __forceinline__ float4 stats_pack(const Stats &s) { return make_float4(s.max, s.sum, s.tsum, (float)s.bad); }
__device__ __forceinline__ Stats stats_unpack(const float4 &v) { return Stats{v.x, v.y, v.z, v.w != 0.0f}; }

template <typename T, int MODE>
__global__ void __launch_bounds__(256) ce_mix_partials_kernel(Args k, int split, int64_t chunk, float4 *parts, float *zys) {
    const wmss_ce_mix_args &a = k.c;
    const int64_t row = blockIdx.x / split;
    const int part = blockIdx.x % split;
    const int64_t V = a.vocab;
    const int64_t c0 = part * chunk, c1 = c0 + chunk < V ? c0 + chunk : V;
    const T *zs = static_cast<const T *>(a.z_strong) + row * a.ld_strong;
    const T *zw = static_cast<const T *>(a.z_weak) + row * a.ld_weak;
    const float lam = a.lambda, mu = 1.0f - a.lambda;
    const RowLabel lb = row_label(a, row);
    const int64_t y = lb.y;
    const bool bad_label = lb.bad, labelled = lb.labelled;
    if (!labelled && !bad_label && !a.lse && !a.entropy) return; // launch 2 writes zeros, reads nothing
    Stats st = stats_empty();
    const bool aligned = (reinterpret_cast<uintptr_t>(zs + c0) % 16 == 0) && (reinterpret_cast<uintptr_t>(zw + c0) % 16 == 0);
    int64_t i0 = c0;
    if (aligned) {
        constexpr int VEC = kVec<T>;
        const int64_t nvec = (c1 - c0) / VEC;
        for (int64_t v = threadIdx.x; v < nvec; v += blockDim.x) {
            float s[VEC], w[VEC];
            if (MODE != kMixWeakOnly) load_vec(zs, c0 + v * VEC, s);
            if (MODE != kMixStrongOnly) load_vec(zw, c0 + v * VEC, w);
#pragma unroll
            for (int j = 0; j < VEC; j++)
                stats_add(st, mix(MODE != kMixWeakOnly ? s[j] : 0.0f, MODE != kMixStrongOnly ? w[j] : 0.0f, MODE, lam, mu));
        }
        i0 = c0 + nvec * VEC;
    }
    for (int64_t i = i0 + threadIdx.x; i < c1; i += blockDim.x)
        stats_add(st, mix(MODE != kMixWeakOnly ? load1(zs, i) : 0.0f, MODE != kMixStrongOnly ? load1(zw, i) : 0.0f, MODE, lam, mu));
    st = block_reduce(st);
    if (threadIdx.x == 0) {
        parts[row * split + part] = stats_pack(st);
        if (labelled && y >= c0 && y < c1)
            zys[row] = mix(MODE != kMixWeakOnly ? load1(zs, y) : 0.0f, MODE != kMixStrongOnly ? load1(zw, y) : 0.0f, MODE, lam, mu);
    }
}

template <typename T, int MODE>
__global__ void __launch_bounds__(256) ce_mix_apply_kernel(Args k, int split, int64_t chunk, const float4 *parts, const float *zys) {
    __shared__ Stats merged;
    const wmss_ce_mix_args &a = k.c;
    const int64_t row = blockIdx.x / split;
    const int part = blockIdx.x % split;
    const int64_t V = a.vocab;
    const int64_t c0 = part * chunk, c1 = c0 + chunk < V ? c0 + chunk : V;
    const T *zs = static_cast<const T *>(a.z_strong) + row * a.ld_strong;
    const T *zw = static_cast<const T *>(a.z_weak) + row * a.ld_weak;
    T *gs = a.grad_strong ? static_cast<T *>(a.grad_strong) + row * a.ld_grad_strong : nullptr;
    T *gw = a.grad_weak ? static_cast<T *>(a.grad_weak) + row * a.ld_grad_weak : nullptr;
    const float lam = a.lambda, mu = 1.0f - a.lambda;
    const RowLabel lb = row_label(a, row);
    const int64_t y = lb.y;
    const bool bad_label = lb.bad, labelled = lb.labelled;
    const bool want_stats = a.lse || a.entropy;
    if (!labelled && !bad_label && !want_stats) {
        fill_chunk(gs, c0, c1, 0.0f);
        fill_chunk(gw, c0, c1, 0.0f);
        if (part == 0 && threadIdx.x == 0 && a.loss) a.loss[row] = 0.0f;
        return;
    }
    if (threadIdx.x < 32) { // lane l merges partials l, l + 32, ... in order; then the butterfly
        Stats m = stats_empty();
        for (int p = threadIdx.x; p < split; p += 32) m = stats_merge(m, stats_unpack(parts[row * split + p]));
        for (int s = 16; s > 0; s >>= 1) m = stats_merge(m, shfl_xor(m, s));
        if (threadIdx.x == 0) merged = m;
    }
    __syncthreads();
    const RowResult rr = row_finish(merged);
    const float zy = labelled ? zys[row] : 0.0f;
    const RowOutcome o = write_row(k, row, part == 0 && threadIdx.x == 0, lb, rr, zy);
    if (!o.sweep) {
        fill_chunk(gs, c0, c1, o.fill);
        fill_chunk(gw, c0, c1, o.fill);
        return;
    }
    const float ks = lam * a.inv_norm, kw = mu * a.inv_norm;
    for (int64_t i = c0 + threadIdx.x; i < c1; i += blockDim.x) {
        const float z = mix(MODE != kMixWeakOnly ? load1(zs, i) : 0.0f, MODE != kMixStrongOnly ? load1(zw, i) : 0.0f, MODE, lam, mu);
        const float e = row_exp(z, rr);
        if (gs) store1(gs, i, grad_elem(e, rr, ks, i == y));
        if (gw) store1(gw, i, grad_elem(e, rr, kw, i == y));
    }
}

}  // namespace
