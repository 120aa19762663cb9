// ce_mix.cu — CUDA kernels of wmss.h: the fused ce_mix (one launch), its unfused baseline, and the entropy op.
//
// Fused kernel, variants v1/v2 (ce_mix_algo.cuh: Variant; v3/v4 in ce_mix_tma.cuh): blockIdx.x = row * split + part. A block mixes its chunk of the row (16-byte loads, fp32
// arithmetic) into shared memory while accumulating online statistics, reduces them across the block (warp
// shuffles) and, for split rows, across the thread-block cluster through distributed shared memory (sm_90),
// then writes the gradients from shared memory: the logits are read from HBM once. Without clusters (sm_80) a
// row is one block. inv_norm comes in as an argument: nothing synchronises with the host.
#include <cooperative_groups.h>
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <atomic>
#include <climits>
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <utility>

#include "ce_mix_algo.cuh"
#include "cuda_common.h"

namespace cg = cooperative_groups;
using namespace wmss_algo;

namespace {

/** What a kernel receives by value: the caller's descriptor and the device status words. */
struct Args {
    wmss_ce_mix_args c;
    int64_t *status; // optional device int64[2]: first non-finite row, first row with a bad label
};

template <typename T> __device__ __forceinline__ float load1(const T *p, int64_t i);
// Plain loads, not __ldg: in place the kernel writes the buffer it reads, which the read-only path does not allow.
template <> __device__ __forceinline__ float load1<float>(const float *p, int64_t i) { return p[i]; }
template <> __device__ __forceinline__ float load1<uint16_t>(const uint16_t *p, int64_t i) { return bf16_to_f32(p[i]); }
template <typename T> __device__ __forceinline__ void store1(T *p, int64_t i, float v);
template <> __device__ __forceinline__ void store1<float>(float *p, int64_t i, float v) { p[i] = v; }
template <> __device__ __forceinline__ void store1<uint16_t>(uint16_t *p, int64_t i, float v) { p[i] = f32_to_bf16(v); }

/** Elements per 16-byte access. */
template <typename T> constexpr int kVec = 16 / sizeof(T);

/** Loads kVec<T> consecutive elements (16-byte aligned) as floats. */
template <typename T> __device__ __forceinline__ void load_vec(const T *p, int64_t i, float *out);
template <> __device__ __forceinline__ void load_vec<float>(const float *p, int64_t i, float *out) {
    const float4 v = *reinterpret_cast<const float4 *>(p + i);
    out[0] = v.x, out[1] = v.y, out[2] = v.z, out[3] = v.w;
}
template <> __device__ __forceinline__ void load_vec<uint16_t>(const uint16_t *p, int64_t i, float *out) {
    const uint4 v = *reinterpret_cast<const uint4 *>(p + i);
    const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int k = 0; k < 4; k++) {
        out[2 * k] = __uint_as_float(w[k] << 16);
        out[2 * k + 1] = __uint_as_float(w[k] & 0xFFFF0000u);
    }
}

__device__ __forceinline__ Stats shfl_xor(const Stats &s, int mask) {
    Stats o;
    o.max = __shfl_xor_sync(0xFFFFFFFFu, s.max, mask);
    o.sum = __shfl_xor_sync(0xFFFFFFFFu, s.sum, mask);
    o.tsum = __shfl_xor_sync(0xFFFFFFFFu, s.tsum, mask);
    o.bad = __shfl_xor_sync(0xFFFFFFFFu, s.bad, mask);
    return o;
}

/** Butterfly over the warp, then the warps' results merged in order; every thread gets the same value. */
__device__ Stats block_reduce(Stats s) {
    __shared__ Stats warp_stats[32];
    __shared__ Stats result;
    for (int m = 16; m > 0; m >>= 1) s = stats_merge(s, shfl_xor(s, m));
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, warps = blockDim.x / 32;
    if (lane == 0) warp_stats[warp] = s;
    __syncthreads();
    if (warp == 0) {
        Stats w = lane < warps ? warp_stats[lane] : stats_empty();
        for (int m = 16; m > 0; m >>= 1) w = stats_merge(w, shfl_xor(w, m));
        if (lane == 0) result = w;
    }
    __syncthreads();
    return result;
}

__device__ __forceinline__ void report(int64_t *status, int which, int64_t row) {
    if (status) atomicMin(reinterpret_cast<unsigned long long *>(status + which), (unsigned long long)row);
}

template <typename T>
__device__ void fill_chunk(T *g, int64_t c0, int64_t c1, float v) {
    if (!g) return;
    for (int64_t i = c0 + threadIdx.x; i < c1; i += blockDim.x) store1(g, i, v);
}

/**
 * A finished row's outputs, written by one thread of the row (first): lse, entropy, and the loss and status word that
 * row_outcome decides (zy: the label's mixed logit, read by that thread). Every thread gets the outcome: whether the
 * gradient sweep runs, or what its chunk is filled with.
 */
__device__ __forceinline__ RowOutcome write_row(const Args &k, int64_t row, bool first, const RowLabel &lb,
                                                const RowResult &rr, float zy) {
    const RowOutcome o = row_outcome(rr.undefined, lb, row_loss(rr, zy));
    if (first) {
        const wmss_ce_mix_args &a = k.c;
        if (a.lse) a.lse[row] = rr.lse;
        if (a.entropy) a.entropy[row] = rr.entropy;
        if (a.loss) a.loss[row] = o.loss;
        if (o.status >= 0) report(k.status, o.status, row);
    }
    return o;
}

template <typename T, int MODE, bool RESIDENT>
__global__ void __launch_bounds__(512) ce_mix_fused_kernel(Args k, int split, int64_t chunk) {
    extern __shared__ __align__(16) float zsm[];
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
#if !(defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900)
    // Compiled without the cluster merge (pre-sm_90 code, e.g. PTX JIT-compiled on a newer GPU): a split row
    // would finish with partial statistics. The host never plans a split for such code; never compute garbage.
    if (split > 1) __trap();
#endif

    // The decisions below are the same for every block of a row (cluster), so early exits stay uniform.
    if (!labelled && !bad_label && !want_stats) {
        fill_chunk(gs, c0, c1, 0.0f);
        fill_chunk(gw, c0, c1, 0.0f);
        if (part == 0 && threadIdx.x == 0 && a.loss) a.loss[row] = 0.0f;
        return;
    }
    // The label's mixed logit, read before any block of this row writes a gradient in place (the cluster
    // barrier below orders it before the other blocks' writes).
    const float zy = labelled ? mix(MODE != kMixWeakOnly ? load1(zs, y) : 0.0f, MODE != kMixStrongOnly ? load1(zw, y) : 0.0f,
                                    MODE, lam, mu)
                              : 0.0f; // an input lambda leaves unused is never read (it may be a dummy)

    // Sweep 1: mix (into shared memory) and accumulate the statistics, 16-byte loads where aligned.
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
            float x[VEC];
#pragma unroll
            for (int j = 0; j < VEC; j++) {
                x[j] = mix(MODE != kMixWeakOnly ? s[j] : 0.0f, MODE != kMixStrongOnly ? w[j] : 0.0f, MODE, lam, mu);
                stats_add(st, x[j]);
            }
            if (RESIDENT) { // 16-byte stores: no 4-way bank conflicts
#pragma unroll
                for (int j = 0; j < VEC; j += 4)
                    *reinterpret_cast<float4 *>(zsm + v * VEC + j) = make_float4(x[j], x[j + 1], x[j + 2], x[j + 3]);
            }
        }
        i0 = c0 + nvec * VEC;
    }
    for (int64_t i = i0 + threadIdx.x; i < c1; i += blockDim.x) {
        const float x = mix(MODE != kMixWeakOnly ? load1(zs, i) : 0.0f, MODE != kMixStrongOnly ? load1(zw, i) : 0.0f,
                            MODE, lam, mu);
        if (RESIDENT) zsm[i - c0] = x;
        stats_add(st, x);
    }
    st = block_reduce(st);

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if (split > 1) {
        // Exact merge across the cluster through distributed shared memory, in rank order in every block.
        __shared__ Stats mine, merged;
        cg::cluster_group cluster = cg::this_cluster();
        if (threadIdx.x == 0) mine = st;
        cluster.sync();
        if (threadIdx.x == 0) {
            Stats m = stats_empty();
            for (int r = 0; r < split; r++) m = stats_merge(m, *cluster.map_shared_rank(&mine, r));
            merged = m;
        }
        cluster.sync(); // no block leaves while another still reads its shared memory
        st = merged;
    }
#endif
    const RowResult rr = row_finish(st);
    const RowOutcome o = write_row(k, row, part == 0 && threadIdx.x == 0, lb, rr, zy);
    if (!o.sweep) {
        fill_chunk(gs, c0, c1, o.fill);
        fill_chunk(gw, c0, c1, o.fill);
        return;
    }
    if (!gs && !gw) return;
    __syncthreads(); // shared-memory chunk complete
    const float ks = lam * a.inv_norm, kw = mu * a.inv_norm;
    for (int64_t i = c0 + threadIdx.x; i < c1; i += blockDim.x) {
        const float z = RESIDENT ? zsm[i - c0]
                                 : mix(MODE != kMixWeakOnly ? load1(zs, i) : 0.0f,
                                       MODE != kMixStrongOnly ? load1(zw, i) : 0.0f, MODE, lam, mu);
        const float e = row_exp(z, rr);
        if (gs) store1(gs, i, grad_elem(e, rr, ks, i == y));
        if (gw) store1(gw, i, grad_elem(e, rr, kw, i == y));
    }
}

// ---------------------------------------------------------------- unfused baseline: one launch per op

template <typename T, int MODE>
__global__ void mix_kernel(Args k, float *zmix) {
    const wmss_ce_mix_args &a = k.c;
    const int64_t n = a.rows * a.vocab;
    const float lam = a.lambda, mu = 1.0f - a.lambda;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = e / a.vocab, i = e % a.vocab;
        const float s = MODE != kMixWeakOnly ? load1(static_cast<const T *>(a.z_strong) + r * a.ld_strong, i) : 0.0f;
        const float w = MODE != kMixStrongOnly ? load1(static_cast<const T *>(a.z_weak) + r * a.ld_weak, i) : 0.0f;
        zmix[e] = mix(s, w, MODE, lam, mu);
    }
}

/**
 * Block per row: statistics, then the write (lse optional), like an eager log_softmax. A labelled row's non-finite
 * lse shows in its loss (nll_kernel); an ignored row's is reported here when statistics are wanted (as on the CPU).
 */
__global__ void log_softmax_kernel(Args k, const float *x, float *logp) {
    const wmss_ce_mix_args &a = k.c;
    const int64_t V = a.vocab;
    const float *xr = x + blockIdx.x * V;
    float *out = logp + blockIdx.x * V;
    Stats s = stats_empty();
    for (int64_t i = threadIdx.x; i < V; i += blockDim.x) stats_add(s, xr[i]);
    s = block_reduce(s);
    // lse NaN for a row without a distribution (NaN, or all -inf), as the fused kernel writes it; the max is
    // subtracted first, since x - (max + log s) loses every digit near float's range (as on the CPU)
    const float m = s.bad ? NAN : s.max, ls = logf(s.sum);
    const float l = m > -INFINITY ? m + ls : NAN;
    if (threadIdx.x == 0) {
        if (a.lse) a.lse[blockIdx.x] = l;
        if (a.labels[blockIdx.x] == kIgnore && (a.lse || a.entropy) && !isfinite(l)) report(k.status, 0, blockIdx.x);
    }
    for (int64_t i = threadIdx.x; i < V; i += blockDim.x) out[i] = (xr[i] - m) - ls;
}

__global__ void nll_kernel(Args k, const float *logp) {
    const wmss_ce_mix_args &a = k.c;
    const int64_t r = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (r >= a.rows) return;
    const int64_t y = a.labels[r];
    const bool ok = y == kIgnore || (y >= 0 && y < a.vocab);
    if (!ok) report(k.status, 1, r);
    a.loss[r] = y == kIgnore ? 0.0f : ok ? -logp[r * a.vocab + y] : NAN;
    if (ok && y != kIgnore && !isfinite(a.loss[r])) report(k.status, 0, r);
}

__global__ void entropy_from_logp_kernel(int64_t V, const float *logp, float *entropy) {
    __shared__ float part[32];
    float h = 0.0f;
    for (int64_t i = threadIdx.x; i < V; i += blockDim.x) {
        const float lp = logp[blockIdx.x * V + i], p = expf(lp);
        h -= p > 0.0f ? p * lp : (lp != lp ? NAN : 0.0f);
    }
    for (int m = 16; m > 0; m >>= 1) h += __shfl_xor_sync(0xFFFFFFFFu, h, m);
    if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = h;
    __syncthreads();
    if (threadIdx.x == 0) {
        float t = 0.0f;
        for (int w = 0; w < (int)blockDim.x / 32; w++) t += part[w];
        entropy[blockIdx.x] = t;
    }
}

__global__ void softmax_grad_kernel(Args k, float *logp_to_g) {
    const wmss_ce_mix_args &a = k.c;
    const int64_t n = a.rows * a.vocab;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = e / a.vocab, i = e % a.vocab, y = a.labels[r];
        const bool bad_label = y != kIgnore && (y < 0 || y >= a.vocab); // its outputs are NaN, as in the fused kernel
        logp_to_g[e] = y == kIgnore ? 0.0f : bad_label ? NAN : expf(logp_to_g[e]) - (i == y ? 1.0f : 0.0f);
    }
}

template <typename T>
__global__ void scale_kernel(Args k, const float *g, float alpha, T *out, int64_t ld) {
    const wmss_ce_mix_args &a = k.c;
    const int64_t n = a.rows * a.vocab;
    for (int64_t e = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; e < n; e += (int64_t)gridDim.x * blockDim.x) {
        const int64_t r = e / a.vocab, i = e % a.vocab;
        store1(out + r * ld, i, alpha * g[e]);
    }
}

__global__ void status_reset_kernel(int64_t *status) {
    status[0] = INT64_MAX;
    status[1] = INT64_MAX;
}

}  // namespace

#include "ce_mix_tma.cuh"
#include "ce_mix_two_pass.cuh"

namespace {

// ---------------------------------------------------------------- launchers

/**
 * Every launch goes through cudaLaunchKernelEx, whose return value is the launch's own error: the runtime's
 * last-error state (which the caller may be using) is neither read nor reset, unless our launch failed
 * (WMSS_CUDA_TRY then clears the error it returns).
 */
template <typename... Params, typename... Actual>
int launch_ex(const char *what, void (*kernel)(Params...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream,
              const cudaLaunchAttribute *attrs, unsigned num_attrs, Actual &&...args) {
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = stream;
    cfg.attrs = const_cast<cudaLaunchAttribute *>(attrs);
    cfg.numAttrs = num_attrs;
    WMSS_CUDA_TRY(cudaLaunchKernelEx(&cfg, kernel, std::forward<Actual>(args)...), what);
    return WMSS_OK;
}

template <typename... Params, typename... Actual>
int launch(const char *what, void (*kernel)(Params...), dim3 grid, dim3 block, cudaStream_t stream, Actual &&...args) {
    return launch_ex(what, kernel, grid, block, 0, stream, nullptr, 0u, std::forward<Actual>(args)...);
}

struct Device {
    int index = 0, sm_count = 0, cc_major = 0, max_cluster = 1; // max_cluster: the portable limit (8 on sm_90 code)
    int mem_pools = 0;                                           // cudaMallocAsync works (v5's workspace)
    int64_t smem_optin = 0;
};

/** The device's limits, and whether the loaded fused kernel has the sm_90 cluster merge (its PTX version). */
int query_device_uncached(int dev, Device &d) {
    int smem = 0, cluster = 0;
    d.index = dev;
    WMSS_CUDA_TRY(cudaDeviceGetAttribute(&d.sm_count, cudaDevAttrMultiProcessorCount, dev), "cudaDeviceGetAttribute");
    WMSS_CUDA_TRY(cudaDeviceGetAttribute(&d.cc_major, cudaDevAttrComputeCapabilityMajor, dev), "cudaDeviceGetAttribute");
    WMSS_CUDA_TRY(cudaDeviceGetAttribute(&smem, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev), "cudaDeviceGetAttribute");
    WMSS_CUDA_TRY(cudaDeviceGetAttribute(&cluster, cudaDevAttrClusterLaunch, dev), "cudaDeviceGetAttribute");
    WMSS_CUDA_TRY(cudaDeviceGetAttribute(&d.mem_pools, cudaDevAttrMemoryPoolsSupported, dev), "cudaDeviceGetAttribute");
    cudaFuncAttributes fa;
    WMSS_CUDA_TRY(cudaFuncGetAttributes(&fa, ce_mix_fused_kernel<float, kMixBoth, true>), "cudaFuncGetAttributes");
    d.smem_optin = smem;
    d.max_cluster = cluster_limit(d.cc_major, cluster, fa.ptxVersion);
    return WMSS_OK;
}

/** query_device_uncached once per device (the attributes never change): a launch costs one cudaGetDevice. */
int query_device(Device &d) {
    constexpr int kMaxDevices = 64;
    static Device cache[kMaxDevices];
    static std::atomic<int> ready[kMaxDevices];
    int dev = 0;
    WMSS_CUDA_TRY(cudaGetDevice(&dev), "cudaGetDevice");
    if (dev < 0 || dev >= kMaxDevices) return query_device_uncached(dev, d);
    if (ready[dev].load(std::memory_order_acquire)) {
        d = cache[dev];
        return WMSS_OK;
    }
    const int st = query_device_uncached(dev, d);
    if (st) return st;
    cache[dev] = d; // racing threads write the same values
    ready[dev].store(1, std::memory_order_release);
    return WMSS_OK;
}

/** The non-portable cluster sizes (9..16) a variant may ask for where the portable limit is 8. */
int wide_cluster(int max_cluster) { return max_cluster >= 8 ? 16 : max_cluster; }

/**
 * Sets a kernel's launch attributes, once per (device, kernel): the device's whole dynamic shared memory (one value
 * for every plan, so launches of different plans cannot race on it), the largest shared-memory carveout, and
 * cluster sizes above 8. A launch then costs no attribute call (the host's time per launch matters for short rows).
 */
template <typename K> int prepare_kernel(K kernel, const Device &d, int64_t smem, int split) {
    (void)smem, (void)split;
    static std::mutex mu;
    static std::set<std::pair<int, const void *>> done;
    const auto key = std::make_pair(d.index, (const void *)kernel);
    std::lock_guard<std::mutex> lock(mu);
    if (done.count(key)) return WMSS_OK;
    if (d.smem_optin - 1024 > 48 * 1024)
        WMSS_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)(d.smem_optin - 1024)),
                      "cudaFuncSetAttribute(max dynamic shared memory)");
    WMSS_CUDA_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, 100),
                  "cudaFuncSetAttribute(shared memory carveout)");
    if (d.max_cluster >= 8 && cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1) != cudaSuccess)
        (void)cudaGetLastError(); // no cluster above 8 then: cluster_fits says so before any such launch
    done.insert(key);
    return WMSS_OK;
}

/**
 * Whether a cluster of `split` blocks of this kernel and shared memory can be resident at all (clusters of more
 * than 8, or of blocks that fill an SM, need that many SMs of one GPC): cudaOccupancyMaxActiveClusters, once per
 * (device, kernel, split, threads, shared memory). A query that fails counts as "no".
 */
template <typename K> bool cluster_fits(K kernel, const Device &d, int split, int threads, int64_t smem) {
    if (split <= 1) return true;
    static std::mutex mu;
    static std::map<std::tuple<int, const void *, int, int, int64_t>, bool> known;
    const auto key = std::make_tuple(d.index, (const void *)kernel, split, threads, smem);
    std::lock_guard<std::mutex> lock(mu);
    const auto it = known.find(key);
    if (it != known.end()) return it->second;
    bool ok = prepare_kernel(kernel, d, smem, split) == WMSS_OK;
    if (ok) {
        cudaLaunchConfig_t cfg = {};
        cudaLaunchAttribute attr[1] = {};
        attr[0].id = cudaLaunchAttributeClusterDimension;
        attr[0].val.clusterDim.x = split;
        attr[0].val.clusterDim.y = 1;
        attr[0].val.clusterDim.z = 1;
        cfg.gridDim = dim3((unsigned)split);
        cfg.blockDim = dim3((unsigned)threads);
        cfg.dynamicSmemBytes = (size_t)smem;
        cfg.attrs = attr;
        cfg.numAttrs = 1;
        int clusters = 0;
        ok = cudaOccupancyMaxActiveClusters(&clusters, kernel, &cfg) == cudaSuccess && clusters > 0;
        (void)cudaGetLastError(); // a refused query is our own error: clear it
    } else {
        wmss_clear_error();
    }
    known[key] = ok;
    return ok;
}

template <typename K>
int launch_split(const char *what, K kernel, const Args &a, const Device &d, const Plan &p, cudaStream_t stream) {
    int st;
    if (p.smem > d.smem_optin - 1024) return wmss_fail(WMSS_ERR_INTERNAL, "%s: plan needs %lld bytes of shared memory",
                                                        what, (long long)p.smem);
    if ((st = prepare_kernel(kernel, d, p.smem, p.split))) return st;
    cudaLaunchAttribute attr[1] = {};
    if (p.split > 1) {
        attr[0].id = cudaLaunchAttributeClusterDimension;
        attr[0].val.clusterDim.x = p.split;
        attr[0].val.clusterDim.y = 1;
        attr[0].val.clusterDim.z = 1;
    }
    return launch_ex(what, kernel, dim3((unsigned)(a.c.rows * p.split)), dim3(p.threads), (size_t)p.smem, stream, attr,
                     p.split > 1 ? 1u : 0u, a, p.split, p.chunk);
}

template <typename T, int MODE>
int launch_fused(const Args &a, const Device &d, const Plan &p, cudaStream_t s) {
    return p.resident ? launch_split("ce_mix fused launch", ce_mix_fused_kernel<T, MODE, true>, a, d, p, s)
                      : launch_split("ce_mix fused launch", ce_mix_fused_kernel<T, MODE, false>, a, d, p, s);
}

template <typename T>
int launch_fused(const Args &a, const Device &d, const Plan &p, cudaStream_t s) {
    switch (mix_mode(a.c.lambda)) {
    case kMixStrongOnly: return launch_fused<T, kMixStrongOnly>(a, d, p, s);
    case kMixWeakOnly: return launch_fused<T, kMixWeakOnly>(a, d, p, s);
    default: return launch_fused<T, kMixBoth>(a, d, p, s);
    }
}

/**
 * v3 / v4 (ce_mix_tma.cuh) when the row's raw inputs fit a cluster's shared memory and such a cluster can be
 * resident; *launched = false (nothing done) otherwise, for the caller to fall back on v1's streaming path.
 */
template <typename T, int MODE, bool TMA>
int launch_tma(const Args &a, const Device &d, cudaStream_t s, bool *launched) {
    auto kernel = ce_mix_tma_kernel<T, MODE, TMA>;
    const int inputs = MODE == kMixBoth ? 2 : 1;
    const int64_t smem_max = d.smem_optin - 1024; // the kernel's own static shared memory stays below 1 KiB
    *launched = false;
    for (int max_cluster = wide_cluster(d.max_cluster); max_cluster >= 1; max_cluster = max_cluster > 8 ? 8 : 0) {
        const Plan p = plan_ce_mix_tma(a.c.rows, a.c.vocab, (int)sizeof(T), inputs, d.sm_count, max_cluster,
                                       kTmaSmemTarget, smem_max);
        if (!p.resident || a.c.rows * p.split > INT_MAX) return WMSS_OK;
        if (!cluster_fits(kernel, d, p.split, p.threads, p.smem)) continue;
        *launched = true;
        return launch_split("ce_mix fused launch", kernel, a, d, p, s);
    }
    return WMSS_OK;
}

template <typename T, bool TMA>
int launch_tma(const Args &a, const Device &d, cudaStream_t s, bool *launched) {
    switch (mix_mode(a.c.lambda)) {
    case kMixStrongOnly: return launch_tma<T, kMixStrongOnly, TMA>(a, d, s, launched);
    case kMixWeakOnly: return launch_tma<T, kMixWeakOnly, TMA>(a, d, s, launched);
    default: return launch_tma<T, kMixBoth, TMA>(a, d, s, launched);
    }
}

unsigned grid_for(int64_t n, int threads) {
    const int64_t b = (n + threads - 1) / threads;
    return (unsigned)(b < 65536 ? (b > 0 ? b : 1) : 65536);
}

template <typename T>
int launch_unfused(const Args &a, float *ws, cudaStream_t s) {
    const wmss_ce_mix_args &c = a.c;
    const int64_t n = c.rows * c.vocab;
    float *zmix = ws, *logp = ws + n;
    const dim3 g(grid_for(n, 256)), b256(256), b512(512), per_row((unsigned)c.rows);
    int st;
    switch (mix_mode(c.lambda)) {
    case kMixStrongOnly: st = launch("mix", mix_kernel<T, kMixStrongOnly>, g, b256, s, a, zmix); break;
    case kMixWeakOnly: st = launch("mix", mix_kernel<T, kMixWeakOnly>, g, b256, s, a, zmix); break;
    default: st = launch("mix", mix_kernel<T, kMixBoth>, g, b256, s, a, zmix); break;
    }
    if (st || (st = launch("log_softmax", log_softmax_kernel, per_row, b512, s, a, (const float *)zmix, logp)) ||
        (st = launch("nll", nll_kernel, dim3((unsigned)((c.rows + 255) / 256)), b256, s, a, (const float *)logp)))
        return st;
    if (c.entropy && (st = launch("entropy", entropy_from_logp_kernel, per_row, b512, s, c.vocab, (const float *)logp, c.entropy)))
        return st;
    if (!c.grad_strong && !c.grad_weak) return WMSS_OK;
    if ((st = launch("softmax_grad", softmax_grad_kernel, g, b256, s, a, logp))) return st;
    if (c.grad_strong && (st = launch("scale", scale_kernel<T>, g, b256, s, a, (const float *)logp, c.lambda * c.inv_norm,
                                      static_cast<T *>(c.grad_strong), c.ld_grad_strong)))
        return st;
    if (c.grad_weak && (st = launch("scale", scale_kernel<T>, g, b256, s, a, (const float *)logp, (1.0f - c.lambda) * c.inv_norm,
                                    static_cast<T *>(c.grad_weak), c.ld_grad_weak)))
        return st;
    return WMSS_OK;
}

/**
 * v5 (ce_mix_two_pass.cuh): two launches joined by a stream-ordered workspace of 16 bytes per block and 4 per row;
 * *launched = false (nothing done) where the device has no memory pools or the workspace cannot be had.
 */
template <typename T, int MODE>
int launch_two_pass(const Args &a, const Device &d, cudaStream_t s, bool *launched) {
    *launched = false;
    const Plan p = plan_ce_mix_two_pass(a.c.rows, a.c.vocab, d.sm_count);
    if (!d.mem_pools || a.c.rows * p.split > INT_MAX) return WMSS_OK;
    const int64_t blocks = a.c.rows * p.split;
    void *ws = nullptr;
    if (cudaMallocAsync(&ws, (size_t)(blocks * 16 + a.c.rows * 4), s) != cudaSuccess) {
        (void)cudaGetLastError();
        return WMSS_OK;
    }
    *launched = true;
    float4 *parts = static_cast<float4 *>(ws);
    float *zys = reinterpret_cast<float *>(parts + blocks);
    int st = launch_ex("ce_mix two-pass statistics launch", ce_mix_partials_kernel<T, MODE>, dim3((unsigned)blocks),
                       dim3(p.threads), 0, s, nullptr, 0u, a, p.split, p.chunk, parts, zys);
    if (!st)
        st = launch_ex("ce_mix two-pass gradient launch", ce_mix_apply_kernel<T, MODE>, dim3((unsigned)blocks),
                       dim3(p.threads), 0, s, nullptr, 0u, a, p.split, p.chunk, (const float4 *)parts, (const float *)zys);
    const cudaError_t freed = cudaFreeAsync(ws, s);
    if (freed != cudaSuccess) {
        (void)cudaGetLastError();
        if (!st) st = wmss_fail(WMSS_ERR_CUDA, "cudaFreeAsync: %s", cudaGetErrorString(freed));
    }
    return st;
}

template <typename T>
int launch_two_pass(const Args &a, const Device &d, cudaStream_t s, bool *launched) {
    switch (mix_mode(a.c.lambda)) {
    case kMixStrongOnly: return launch_two_pass<T, kMixStrongOnly>(a, d, s, launched);
    case kMixWeakOnly: return launch_two_pass<T, kMixWeakOnly>(a, d, s, launched);
    default: return launch_two_pass<T, kMixBoth>(a, d, s, launched);
    }
}

/**
 * Launches the selected variant of the fused kernel (ce_mix_algo.cuh: Variant) for the current device. v3/v4 fall
 * back on v1 where the row's inputs do not fit; v1 and v2 keep long rows in HBM (two sweeps) where the mixed row
 * does not fit their budget. Without clusters (sm_80 code) a row is one block.
 */
int launch_planned(const wmss_ce_mix_args &c, int64_t *status, void *stream) {
    if (c.rows == 0) return WMSS_OK;
    int variant = kVariantAuto, st;
    if ((st = wmss_cuda_selected_variant(&variant))) return st;
    const bool automatic = variant == kVariantAuto;
    if (automatic) variant = auto_variant(c.dtype);
    Device d;
    if ((st = query_device(d))) return st;
    const Args a{c, status};
    auto s = static_cast<cudaStream_t>(stream);
    const bool bf16 = c.dtype == WMSS_DTYPE_BF16;
    // "auto" never fails where v1 works: a device that refuses a v3/v4 launch (its configuration is checked when
    // launched) gets v1 from then on.
    static std::atomic<uint64_t> tma_refused{0}; // bit per device (the first 64)
    const uint64_t bit = d.index < 64 ? (uint64_t)1 << d.index : 0;
    const int es = bf16 ? 2 : 4, inputs = mix_mode(c.lambda) == kMixBoth ? 2 : 1;
    if (variant == kVariantV5 ||
        (automatic && prefer_two_pass(c.rows, c.vocab, es, inputs, d.sm_count, wide_cluster(d.max_cluster), d.smem_optin - 1024))) {
        bool launched = false;
        st = bf16 ? launch_two_pass<uint16_t>(a, d, s, &launched) : launch_two_pass<float>(a, d, s, &launched);
        if (st || launched) return st;
    }
    if ((variant == kVariantV3 || variant == kVariantV4) && !(automatic && (tma_refused.load() & bit))) {
        bool launched = false;
        st = variant == kVariantV3 ? (bf16 ? launch_tma<uint16_t, true>(a, d, s, &launched) : launch_tma<float, true>(a, d, s, &launched))
                                   : (bf16 ? launch_tma<uint16_t, false>(a, d, s, &launched) : launch_tma<float, false>(a, d, s, &launched));
        if (st && automatic && launched) {
            tma_refused.fetch_or(bit);
            wmss_clear_error();
        } else if (st || launched) {
            return st;
        }
    }
    const bool v2 = variant == kVariantV2;
    const int64_t cap = v2 ? kV2SmemBudget : kV1SmemBudget;
    const int64_t usable = d.smem_optin - 1024; // the kernel's static shared memory stays below 1 KiB
    const int64_t budget = usable > 0 ? (usable < cap ? usable : cap) : 47 * 1024;
    Plan p = plan_ce_mix(c.rows, c.vocab, d.sm_count, v2 ? wide_cluster(d.max_cluster) : d.max_cluster, budget);
    auto kernel = bf16 ? (void *)ce_mix_fused_kernel<uint16_t, kMixBoth, true> : (void *)ce_mix_fused_kernel<float, kMixBoth, true>;
    if (v2 && p.split > 8 && !cluster_fits(kernel, d, p.split, p.threads, p.smem))
        p = plan_ce_mix(c.rows, c.vocab, d.sm_count, d.max_cluster, budget);
    return bf16 ? launch_fused<uint16_t>(a, d, p, s) : launch_fused<float>(a, d, p, s);
}

}  // namespace

extern "C" {

int wmss_cuda_ce_mix(const wmss_ce_mix_args *args, int64_t *status, void *stream) {
    int st;
    if ((st = wmss_cuda_check_args(args, status, "wmss_cuda_ce_mix", 0))) return st;
    return launch_planned(*args, status, stream);
}

int wmss_cuda_entropy(const wmss_entropy_args *args, int64_t *status, void *stream) {
    const char *fn = "wmss_cuda_entropy";
    wmss_ce_mix_args c;
    int st;
    if ((st = wmss_entropy_as_ce_mix(args, fn, &c))) return st;
    c.flags = 0; // the device reports non-finite rows through status
    if ((st = wmss_cuda_check_args(&c, status, fn, 1))) return st;
    return launch_planned(c, status, stream);
}

int wmss_cuda_ce_mix_unfused(const wmss_ce_mix_args *args, int64_t *status, void *stream, float *workspace,
                             int64_t workspace_floats) {
    const char *fn = "wmss_cuda_ce_mix_unfused";
    int st;
    if ((st = wmss_cuda_check_args(args, status, fn, 0))) return st;
    if (!workspace) return wmss_fail(WMSS_ERR_NULL_POINTER, "%s: workspace is NULL", fn);
    if (workspace_floats < 2 * args->rows * args->vocab)
        return wmss_fail(WMSS_ERR_SHAPE, "%s: workspace has %lld floats, needs %lld", fn, (long long)workspace_floats,
                         (long long)(2 * args->rows * args->vocab));
    if ((st = wmss_check_workspace(args, workspace, workspace_floats, fn))) return st;
    if (args->rows == 0) return WMSS_OK;
    const Args a{*args, status};
    auto s = static_cast<cudaStream_t>(stream);
    return args->dtype == WMSS_DTYPE_BF16 ? launch_unfused<uint16_t>(a, workspace, s)
                                          : launch_unfused<float>(a, workspace, s);
}

int wmss_cuda_status_reset(int64_t *status, void *stream) {
    if (!status) return wmss_fail(WMSS_ERR_NULL_POINTER, "wmss_cuda_status_reset: status is NULL");
    return launch("wmss_cuda_status_reset", status_reset_kernel, dim3(1), dim3(1), static_cast<cudaStream_t>(stream),
                  status);
}

}  // extern "C"
