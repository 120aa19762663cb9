/* The exported CPU entry points of wmss.h: validate, dispatch to the active variant, map results to a status. */
#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "cpu.h"

#ifndef WMSS_VERSION
#define WMSS_VERSION "0.0.0"
#endif

int wmss_abi_version(void) { return WMSS_ABI_VERSION; }

const char *wmss_build_info(void) {
    static char info[256];
    if (!info[0])
        snprintf(info, sizeof info, "wmss %s (cpu: %s of avx512bf16 avx512 avx2 sse2; openmp %d; cuda: %s)", WMSS_VERSION,
                 wmss_cpu_isa(), _OPENMP, wmss_cuda_build_info());
    return info;
}

/* 0 = the default: OMP_NUM_THREADS if set, else one per core. Java calls arrive on any thread, and libtorch sets
 * the calling thread's OpenMP ICV to 1 for its own ops, so the count is process-wide and never read from the ICV. */
static _Atomic int thread_setting;
static _Atomic int default_threads;

int wmss_threads(void) {
    const int n = thread_setting;
    if (n > 0) return n;
    if (!default_threads) {
        const char *env = getenv("OMP_NUM_THREADS");
        const int v = env ? atoi(env) : 0;
        default_threads = v > 0 ? v : omp_get_num_procs();
    }
    return default_threads;
}

int wmss_set_num_threads(int n) {
    if (n < 0) return wmss_fail(WMSS_ERR_ARGUMENT, "wmss_set_num_threads: n = %d must be >= 0", n);
    thread_setting = n;
    return WMSS_OK;
}

int wmss_num_threads(void) { return wmss_threads(); }

/* Streaming (non-temporal) stores: the destination is not read for ownership, as in STREAM's copy. */
static void copy_stream(char *d, const char *s, int64_t n) {
    if (((uintptr_t)d | (uintptr_t)s) % 16) {
        memcpy(d, s, (size_t)n);
        return;
    }
    const int64_t n64 = n & ~INT64_C(63);
    for (int64_t i = 0; i < n64; i += 64) {
        const __m128 a = _mm_load_ps((const float *)(s + i)), b = _mm_load_ps((const float *)(s + i + 16));
        const __m128 c = _mm_load_ps((const float *)(s + i + 32)), e = _mm_load_ps((const float *)(s + i + 48));
        _mm_stream_ps((float *)(d + i), a);
        _mm_stream_ps((float *)(d + i + 16), b);
        _mm_stream_ps((float *)(d + i + 32), c);
        _mm_stream_ps((float *)(d + i + 48), e);
    }
    _mm_sfence();
    memcpy(d + n64, s + n64, (size_t)(n - n64));
}

int wmss_copy(void *dst, const void *src, int64_t bytes) {
    if (bytes < 0) return wmss_fail(WMSS_ERR_SHAPE, "wmss_copy: bytes = %lld", (long long)bytes);
    if (bytes == 0) return WMSS_OK;
    if (!dst || !src) return wmss_fail(WMSS_ERR_NULL_POINTER, "wmss_copy: %s is NULL", dst ? "src" : "dst");
    const uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;
    if (d < s + (uint64_t)bytes && s < d + (uint64_t)bytes)
        return wmss_fail(WMSS_ERR_ALIAS, "wmss_copy: source and destination overlap");
#pragma omp parallel num_threads(wmss_threads())
    {
        const int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
        const int64_t per = (bytes / nt + 63) & ~INT64_C(63);
        const int64_t b = t * per, e = b + per < bytes ? b + per : bytes;
        if (b < e) copy_stream((char *)dst + b, (const char *)src + b, e - b);
    }
    return WMSS_OK;
}

static int finish(int64_t first_bad, const wmss_ce_mix_args *a, const char *fn) {
    if (first_bad == -2) return wmss_fail(WMSS_ERR_OUT_OF_MEMORY, "%s: out of memory", fn);
    if (first_bad < 0 || (a->flags & WMSS_FLAG_ALLOW_NONFINITE)) return WMSS_OK;
    return wmss_fail(WMSS_ERR_NONFINITE,
                     "%s: row %lld is not finite (NaN or +inf logits, all logits -inf, or the label's logit is "
                     "-inf); pass WMSS_FLAG_ALLOW_NONFINITE to get NaN/inf rows instead of this error",
                     fn, (long long)first_bad);
}

int wmss_ce_mix(const wmss_ce_mix_args *a) {
    const int st = wmss_check_ce_mix_args(a, "wmss_ce_mix", WMSS_LABELS_ON_HOST, 0);
    return st ? st : finish(wmss_cpu_active()->ce_mix(a), a, "wmss_ce_mix");
}

int wmss_ce_mix_unfused(const wmss_ce_mix_args *a, float *workspace, int64_t workspace_floats) {
    const char *fn = "wmss_ce_mix_unfused";
    const int st = wmss_check_ce_mix_args(a, fn, WMSS_LABELS_ON_HOST, 0);
    if (st) return st;
    if (!workspace) return wmss_fail(WMSS_ERR_NULL_POINTER, "%s: workspace is NULL", fn);
    int64_t need;
    if (__builtin_mul_overflow(a->rows, a->vocab, &need) || __builtin_mul_overflow(need, 2, &need))
        return wmss_fail(WMSS_ERR_SHAPE, "%s: 2 * rows * vocab overflows", fn);
    if (workspace_floats < need)
        return wmss_fail(WMSS_ERR_SHAPE, "%s: workspace has %lld floats, needs 2 * rows * vocab = %lld", fn,
                         (long long)workspace_floats, (long long)(2 * a->rows * a->vocab));
    if ((uintptr_t)workspace % 4) return wmss_fail(WMSS_ERR_ALIGNMENT, "%s: workspace is not 4-byte aligned", fn);
    int ws_st;
    if ((ws_st = wmss_check_workspace(a, workspace, workspace_floats, fn))) return ws_st;
    return finish(wmss_cpu_active()->ce_mix_unfused(a, workspace), a, fn);
}

int wmss_entropy(const wmss_entropy_args *args) {
    const char *fn = "wmss_entropy";
    wmss_ce_mix_args a;
    int st;
    if ((st = wmss_entropy_as_ce_mix(args, fn, &a)) || (st = wmss_check_ce_mix_args(&a, fn, WMSS_LABELS_ON_HOST, 1)))
        return st;
    return finish(wmss_cpu_active()->ce_mix(&a), &a, fn);
}
