// ce_mix_tma.cuh — the three-phase fused kernel (variants v3 and v4 of ce_mix_algo.cuh), included by ce_mix.cu.
//
// A block holds its chunk of the row's RAW inputs in shared memory (both, in their storage dtype: 4 bytes per
// element in bf16, 8 in fp32), brought in by bulk copies (v3: cp.async.bulk on an mbarrier, one thread issues
// them and the whole chunk is in flight at once) or by 16-byte loads (v4). Then three sweeps over shared memory,
// each with independent iterations: (A) the max of the mixed logits; (B) sum exp(z - M) and sum exp(z - M)(z - M)
// against the row max M; (C) the gradients e * k / sum, written with 16-byte stores (bf16 packed in pairs), the
// label column fixed up once afterwards. NaN and +inf need no test of their own: a NaN makes the sum NaN, a +inf
// makes M = +inf; both leave the row undefined. The blocks of a split row (a cluster) exchange the block max, then
// the block sums, through distributed shared memory; every warp reduces the ranks' values itself (lane r reads rank
// r, a butterfly), so no further block barrier is needed. wmss_cuda_host_ce_mix replays this order on the CPU.
#pragma once

namespace {

__device__ __forceinline__ float warp_max(float v) {
    for (int m = 16; m > 0; m >>= 1) v = fmaxf(v, __shfl_xor_sync(0xFFFFFFFFu, v, m));
    return v;
}

__device__ __forceinline__ void warp_sum2(float &a, float &b) {
    for (int m = 16; m > 0; m >>= 1) {
        a += __shfl_xor_sync(0xFFFFFFFFu, a, m);
        b += __shfl_xor_sync(0xFFFFFFFFu, b, m);
    }
}

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
__device__ __forceinline__ uint32_t smem_u32(const void *p) { return (uint32_t)__cvta_generic_to_shared(p); }
__device__ __forceinline__ void mbar_init(uint64_t *bar) {
    asm volatile("mbarrier.init.shared::cta.b64 [%0], 1;" ::"r"(smem_u32(bar)) : "memory");
    asm volatile("fence.mbarrier_init.release.cluster;" ::: "memory");
}
/** The one arrival of the barrier's phase, announcing `bytes` of bulk copies that complete it. */
__device__ __forceinline__ void mbar_arrive_expect(uint64_t *bar, uint32_t bytes) {
    asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;" ::"r"(smem_u32(bar)), "r"(bytes) : "memory");
}
__device__ __forceinline__ void bulk_copy_g2s(void *dst, const void *src, uint32_t bytes, uint64_t *bar) {
    asm volatile("cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];"
                 ::"r"(smem_u32(dst)), "l"(src), "r"(bytes), "r"(smem_u32(bar))
                 : "memory");
}
__device__ __forceinline__ void mbar_wait0(uint64_t *bar) {
    asm volatile(
        "{\n .reg .pred done;\n"
        "WMSS_WAIT_%=:\n"
        " mbarrier.try_wait.parity.shared::cta.b64 done, [%0], 0;\n"
        " @!done bra WMSS_WAIT_%=;\n}\n" ::"r"(smem_u32(bar))
        : "memory");
}
__device__ __forceinline__ void cluster_arrive() { asm volatile("barrier.cluster.arrive.release;" ::: "memory"); }
__device__ __forceinline__ void cluster_wait() { asm volatile("barrier.cluster.wait.acquire;" ::: "memory"); }
#endif

/** kVec<T> elements of a 16-byte-aligned shared-memory group as floats. */
template <typename T> __device__ __forceinline__ void sm_group(const unsigned char *p, float *out);
template <> __device__ __forceinline__ void sm_group<float>(const unsigned char *p, float *out) {
    const float4 v = *reinterpret_cast<const float4 *>(p);
    out[0] = v.x, out[1] = v.y, out[2] = v.z, out[3] = v.w;
}
template <> __device__ __forceinline__ void sm_group<uint16_t>(const unsigned char *p, float *out) {
    const uint4 v = *reinterpret_cast<const uint4 *>(p);
    const uint32_t w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int k = 0; k < 4; k++) {
        out[2 * k] = __uint_as_float(w[k] << 16);
        out[2 * k + 1] = __uint_as_float(w[k] & 0xFFFF0000u);
    }
}
template <typename T> __device__ __forceinline__ float sm_one(const unsigned char *p) { return load1(reinterpret_cast<const T *>(p), 0); }

/** Stores kVec<T> finite floats to a 16-byte-aligned global group (bf16: round to nearest even, two per cvt). */
template <typename T> __device__ __forceinline__ void st_group(T *p, const float *v);
template <> __device__ __forceinline__ void st_group<float>(float *p, const float *v) {
    *reinterpret_cast<float4 *>(p) = make_float4(v[0], v[1], v[2], v[3]);
}
template <> __device__ __forceinline__ void st_group<uint16_t>(uint16_t *p, const float *v) {
    uint32_t w[4];
#pragma unroll
    for (int k = 0; k < 4; k++) {
        const __nv_bfloat162 h = __floats2bfloat162_rn(v[2 * k], v[2 * k + 1]); // .x = low half = v[2k]
        w[k] = *reinterpret_cast<const uint32_t *>(&h);
    }
    *reinterpret_cast<uint4 *>(p) = make_uint4(w[0], w[1], w[2], w[3]);
}

/** g[c0, c1) = v, 16-byte stores where the chunk's granules allow. */
template <typename T> __device__ void fill_chunk_vec(T *g, int64_t c0, int64_t c1, float v) {
    if (!g) return;
    constexpr int PER = kVec<T>;
    const int64_t n = c1 - c0;
    const Region r = region_of(reinterpret_cast<uintptr_t>(g + c0), n, (int)sizeof(T));
    const int64_t groups = r.mid_bytes / 16, tail0 = r.head + groups * PER;
    float vs[PER];
#pragma unroll
    for (int j = 0; j < PER; j++) vs[j] = v;
    if (threadIdx.x < r.head) store1(g, c0 + threadIdx.x, v);
    if (v == v) {
        for (int64_t q = threadIdx.x; q < groups; q += blockDim.x) st_group(g + c0 + r.head + q * PER, vs);
    } else { // NaN: the canonical pattern of store1 (cvt would write another NaN)
        for (int64_t i = r.head + threadIdx.x; i < tail0; i += blockDim.x) store1(g, c0 + i, v);
    }
    if (tail0 + threadIdx.x < n) store1(g, c0 + tail0 + threadIdx.x, v);
}

/** Copies the head and tail elements of a region (the bytes the bulk copy leaves out) with plain loads. */
template <typename T> __device__ __forceinline__ void load_edges(unsigned char *dst, const Region &r, const T *src, int64_t n) {
    const int64_t tail0 = r.head + r.mid_bytes / (int64_t)sizeof(T);
    if (threadIdx.x < r.head) reinterpret_cast<T *>(dst + r.shift)[threadIdx.x] = src[threadIdx.x];
    if (tail0 + threadIdx.x < n) reinterpret_cast<T *>(dst + r.shift)[tail0 + threadIdx.x] = src[tail0 + threadIdx.x];
}

/** The aligned middle of a region with 16-byte loads, four in flight per thread (v4, and pre-sm_90 code). */
__device__ __forceinline__ void load_mid_plain(unsigned char *dst, const unsigned char *src, int64_t bytes) {
    const int64_t groups = bytes / 16, T = blockDim.x;
    int64_t q = threadIdx.x;
    for (; q + 3 * T < groups; q += 4 * T) {
        uint4 v[4];
#pragma unroll
        for (int u = 0; u < 4; u++) v[u] = reinterpret_cast<const uint4 *>(src)[q + u * T];
#pragma unroll
        for (int u = 0; u < 4; u++) reinterpret_cast<uint4 *>(dst)[q + u * T] = v[u];
    }
    for (; q < groups; q += T) reinterpret_cast<uint4 *>(dst)[q] = reinterpret_cast<const uint4 *>(src)[q];
}

template <typename T, int MODE, bool TMA>
__global__ void __launch_bounds__(512) ce_mix_tma_kernel(Args k, int split, int64_t chunk) {
    extern __shared__ __align__(16) unsigned char smem_rows[];
    __shared__ float red_max[32], red_s[32], red_t[32];
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    __shared__ __align__(8) uint64_t bar;             // the bulk copies' barrier
    __shared__ float slot_max, slot_s, slot_t, slot_zy; // what the other blocks of the cluster read
#endif
    constexpr int ES = (int)sizeof(T), PER = kVec<T>;
    constexpr bool USE_S = MODE != kMixWeakOnly, USE_W = MODE != kMixStrongOnly;
    const wmss_ce_mix_args &a = k.c;
    const int64_t row = blockIdx.x / split;
    const int part = blockIdx.x % split;
    const int64_t V = a.vocab;
    const int64_t c0 = part * chunk, c1 = c0 + chunk < V ? c0 + chunk : V, n = c1 - c0;
    const T *zs = static_cast<const T *>(a.z_strong) + row * a.ld_strong;
    const T *zw = static_cast<const T *>(a.z_weak) + row * a.ld_weak;
    T *gs = a.grad_strong ? static_cast<T *>(a.grad_strong) + row * a.ld_grad_strong : nullptr;
    T *gw = a.grad_weak ? static_cast<T *>(a.grad_weak) + row * a.ld_grad_weak : nullptr;
    const float lam = a.lambda, mu = 1.0f - a.lambda;
    const RowLabel lb = row_label(a, row);
    const int64_t y = lb.y;
    const bool bad_label = lb.bad, labelled = lb.labelled;
    const bool want_stats = a.lse || a.entropy;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, warps = blockDim.x >> 5;
#if !(defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900)
    if (split > 1) __trap(); // no cluster merge in this code (see ce_mix_fused_kernel)
#endif
    if (!labelled && !bad_label && !want_stats) { // uniform over the cluster: no barrier is skipped by half of it
        fill_chunk_vec(gs, c0, c1, 0.0f);
        fill_chunk_vec(gw, c0, c1, 0.0f);
        if (part == 0 && tid == 0 && a.loss) a.loss[row] = 0.0f;
        return;
    }

    // ---- the chunk's raw inputs into shared memory
    unsigned char *rs = smem_rows, *rw = smem_rows + (MODE == kMixBoth ? chunk * ES + 16 : 0);
    const Region Rs = region_of(reinterpret_cast<uintptr_t>(zs + c0), n, ES);
    const Region Rw = region_of(reinterpret_cast<uintptr_t>(zw + c0), n, ES);
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if (TMA) {
        if (tid == 0) mbar_init(&bar);
        __syncthreads();
        if (tid == 0) {
            mbar_arrive_expect(&bar, (uint32_t)((USE_S ? Rs.mid_bytes : 0) + (USE_W ? Rw.mid_bytes : 0)));
            constexpr int64_t kPiece = 32768;
            for (int w = 0; w < 2; w++) {
                if (w == 0 ? !USE_S : !USE_W) continue;
                const Region &r = w == 0 ? Rs : Rw;
                unsigned char *dst = (w == 0 ? rs : rw) + r.shift + r.head * ES;
                const unsigned char *src = reinterpret_cast<const unsigned char *>((w == 0 ? zs : zw) + c0 + r.head);
                for (int64_t o = 0; o < r.mid_bytes; o += kPiece)
                    bulk_copy_g2s(dst + o, src + o, (uint32_t)(r.mid_bytes - o < kPiece ? r.mid_bytes - o : kPiece), &bar);
            }
        }
    } else
#endif
    {
        if (USE_S)
            load_mid_plain(rs + Rs.shift + Rs.head * ES, reinterpret_cast<const unsigned char *>(zs + c0 + Rs.head), Rs.mid_bytes);
        if (USE_W)
            load_mid_plain(rw + Rw.shift + Rw.head * ES, reinterpret_cast<const unsigned char *>(zw + c0 + Rw.head), Rw.mid_bytes);
    }
    if (USE_S) load_edges(rs, Rs, zs + c0, n);
    if (USE_W) load_edges(rw, Rw, zw + c0, n);
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if (TMA) mbar_wait0(&bar);
#endif
    __syncthreads();

    // ---- how the threads walk the chunk (ce_mix_algo.cuh: Walk)
    const int sh = USE_S ? Rs.shift : Rw.shift;
    const bool vec = (!USE_S || !USE_W || Rs.shift == Rw.shift) &&
                     (!gs || (int)(reinterpret_cast<uintptr_t>(gs + c0) % 16) == sh) &&
                     (!gw || (int)(reinterpret_cast<uintptr_t>(gw + c0) % 16) == sh);
    const Walk wk = walk_of(vec, n, USE_S ? Rs.head : Rw.head, ES);
    auto x_at = [&](int64_t j) -> float { // element c0 + j
        return mix(USE_S ? sm_one<T>(rs + Rs.shift + j * ES) : 0.0f, USE_W ? sm_one<T>(rw + Rw.shift + j * ES) : 0.0f,
                   MODE, lam, mu);
    };
    auto x_group = [&](int64_t q, float *x) { // group q: elements c0 + head + q * PER ...
        float s[PER], w[PER];
        const int64_t off = sh + (wk.head + q * PER) * ES;
        if (USE_S) sm_group<T>(rs + off, s);
        if (USE_W) sm_group<T>(rw + off, w);
#pragma unroll
        for (int j = 0; j < PER; j++) x[j] = mix(USE_S ? s[j] : 0.0f, USE_W ? w[j] : 0.0f, MODE, lam, mu);
    };
    const int owner = labelled ? (int)(y / chunk) : -1;

    // ---- phase A: the max
    float m = -INFINITY;
    if (wk.vec) {
        if (tid < wk.head) m = fmaxf(m, x_at(tid));
        for (int64_t q = tid; q < wk.groups; q += blockDim.x) {
            float x[PER];
            x_group(q, x);
#pragma unroll
            for (int j = 0; j < PER; j++) m = fmaxf(m, x[j]);
        }
        if (wk.tail0 + tid < n) m = fmaxf(m, x_at(wk.tail0 + tid));
    } else {
        for (int64_t j = tid; j < n; j += blockDim.x) m = fmaxf(m, x_at(j));
    }
    m = warp_max(m);
    if (lane == 0) red_max[warp] = m;
    const float zy_local = part == owner ? x_at(y - c0) : 0.0f;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if (tid == 0) slot_zy = zy_local;
#endif
    __syncthreads();
    float M = warp_max(lane < warps ? red_max[lane] : -INFINITY);
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    cg::cluster_group cluster = cg::this_cluster();
    if (split > 1) {
        if (tid == 0) slot_max = M;
        cluster.sync();
        float r = -INFINITY; // lane l: ranks l, l + 32, ...
        for (int q = lane; q < split; q += 32) r = fmaxf(r, *cluster.map_shared_rank(&slot_max, q));
        M = warp_max(r);
    }
#endif

    // ---- phase B: sum exp(z - M) and sum exp(z - M) (z - M)
    float s = 0.0f, t = 0.0f;
    auto acc = [&](float x) {
        const float d = x - M, e = exp_fast(d);
        s += e;
        t = fmaf(e, fmaxf(d, kDLo), t);
    };
    if (wk.vec) {
        if (tid < wk.head) acc(x_at(tid));
        for (int64_t q = tid; q < wk.groups; q += blockDim.x) {
            float x[PER];
            x_group(q, x);
#pragma unroll
            for (int j = 0; j < PER; j++) acc(x[j]);
        }
        if (wk.tail0 + tid < n) acc(x_at(wk.tail0 + tid));
    } else {
        for (int64_t j = tid; j < n; j += blockDim.x) acc(x_at(j));
    }
    warp_sum2(s, t);
    if (lane == 0) red_s[warp] = s, red_t[warp] = t;
    __syncthreads();
    float S = lane < warps ? red_s[lane] : 0.0f, Tsum = lane < warps ? red_t[lane] : 0.0f;
    warp_sum2(S, Tsum);
    float zy = zy_local;
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if (split > 1) {
        if (tid == 0) slot_s = S, slot_t = Tsum;
        cluster.sync();
        S = 0.0f, Tsum = 0.0f; // lane l: ranks l, l + 32, ... in order, then the butterfly
        for (int q = lane; q < split; q += 32) {
            S += *cluster.map_shared_rank(&slot_s, q);
            Tsum += *cluster.map_shared_rank(&slot_t, q);
        }
        warp_sum2(S, Tsum);
        if (part == 0 && tid == 0 && owner > 0) zy = *cluster.map_shared_rank(&slot_zy, owner);
        cluster_arrive(); // done with the other blocks' shared memory; waited for before leaving
    }
#endif

    // ---- the row's results
    const RowResult rr = row_finish(Stats{M, S, Tsum, 0});
    const RowOutcome o = write_row(k, row, part == 0 && tid == 0, lb, rr, zy);
    const float inv_S = rr.inv_sum;

    // ---- phase C: the gradients
    if (!o.sweep) {
        fill_chunk_vec(gs, c0, c1, o.fill);
        fill_chunk_vec(gw, c0, c1, o.fill);
    } else if (gs || gw) {
        const float ks = lam * a.inv_norm, kw = mu * a.inv_norm, fs = ks * inv_S, fw = kw * inv_S;
        auto put = [&](int64_t j, float x) {
            const float e = exp_fast(x - M);
            if (gs) store1(gs, c0 + j, e * fs);
            if (gw) store1(gw, c0 + j, e * fw);
        };
        if (wk.vec) {
            if (tid < wk.head) put(tid, x_at(tid));
            for (int64_t q = tid; q < wk.groups; q += blockDim.x) {
                float x[PER], g[PER];
                x_group(q, x);
#pragma unroll
                for (int j = 0; j < PER; j++) x[j] = exp_fast(x[j] - M);
                const int64_t i = c0 + wk.head + q * PER;
                if (gs) {
#pragma unroll
                    for (int j = 0; j < PER; j++) g[j] = x[j] * fs;
                    st_group(gs + i, g);
                }
                if (gw) {
#pragma unroll
                    for (int j = 0; j < PER; j++) g[j] = x[j] * fw;
                    st_group(gw + i, g);
                }
            }
            if (wk.tail0 + tid < n) put(wk.tail0 + tid, x_at(wk.tail0 + tid));
        } else {
            for (int64_t j = tid; j < n; j += blockDim.x) put(j, x_at(j));
        }
        if (part == owner) { // the label column: k * (p_y - 1), after the sweep wrote k * p_y there
            __syncthreads();
            if (tid == 0) {
                const float py_minus_1 = fmaf(exp_fast(zy_local - M), inv_S, -1.0f);
                if (gs) store1(gs, y, ks * py_minus_1);
                if (gw) store1(gw, y, kw * py_minus_1);
            }
        }
    }
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    if (split > 1) cluster_wait();
#endif
}

}  // namespace
