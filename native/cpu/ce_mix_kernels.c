/*
 * ce_mix_kernels.c — the CPU kernels of one ISA variant. CMake compiles this file once per variant with
 * -DWMSS_VARIANT=<name> and that variant's -march flags; dispatch.c picks a variant at run time.
 * Arguments arrive validated (validate.c).
 */
#include <omp.h>
#include <stdlib.h>

#include "ce_mix_row.h"

#ifndef WMSS_VARIANT
#error "compile with -DWMSS_VARIANT=<isa>"
#endif
#define WMSS_CAT2(a, b) a##b
#define WMSS_CAT(a, b) WMSS_CAT2(a, b)
#define WMSS_STR2(a) #a
#define WMSS_STR(a) WMSS_STR2(a)

static int mix_mode_of(float lambda) {
    return lambda == 1.0f ? MIX_STRONG_ONLY : lambda == 0.0f ? MIX_WEAK_ONLY : MIX_BOTH;
}

/* ------------------------------------------------------------------ fused */

typedef int (*row_fn)(const wmss_ce_mix_args *a, int64_t r, float *scratch, float *chunk_max);
#define ROW_FN(NAME, MODE, BF16) \
    static int NAME(const wmss_ce_mix_args *a, int64_t r, float *s, float *c) { return ce_mix_row(a, r, MODE, BF16, s, c); }
ROW_FN(row_both_f32, MIX_BOTH, 0)
ROW_FN(row_both_bf16, MIX_BOTH, 1)
ROW_FN(row_strong_f32, MIX_STRONG_ONLY, 0)
ROW_FN(row_strong_bf16, MIX_STRONG_ONLY, 1)
ROW_FN(row_weak_f32, MIX_WEAK_ONLY, 0)
ROW_FN(row_weak_bf16, MIX_WEAK_ONLY, 1)
static const row_fn row_fns[3][2] = {{row_both_f32, row_both_bf16},
                                     {row_strong_f32, row_strong_bf16},
                                     {row_weak_f32, row_weak_bf16}};

static int64_t ce_mix_fused(const wmss_ce_mix_args *a) {
    const row_fn row = row_fns[mix_mode_of(a->lambda)][a->dtype == WMSS_DTYPE_BF16];
    const int threads = wmss_threads();
    /* One scratch row per thread (64-byte aligned slots), allocated before any output is written. */
    const int64_t slot = (wmss_row_scratch_floats(a->vocab) + wmss_row_chunks(a->vocab) + 15) / 16 * 16;
    float *buf = aligned_alloc(64, sizeof(float) * (size_t)(slot * threads));
    if (!buf) return -2;
    int64_t first_bad = INT64_MAX;
#pragma omp parallel num_threads(threads) reduction(min : first_bad)
    {
        float *scratch = buf + slot * omp_get_thread_num();
        float *chunk_max = scratch + wmss_row_scratch_floats(a->vocab);
#pragma omp for schedule(dynamic, 4)
        for (int64_t r = 0; r < a->rows; r++)
            if (row(a, r, scratch, chunk_max) && r < first_bad) first_bad = r;
    }
    free(buf);
    return first_bad == INT64_MAX ? -1 : first_bad;
}

/* ------------------------------------------------------------------ unfused: one full pass per op */

/** zmix[r] = lambda * zs[r] + (1 - lambda) * zw[r], fp32. */
static void pass_mix(const wmss_ce_mix_args *a, float *zmix) {
    const int bf16 = a->dtype == WMSS_DTYPE_BF16, mode = mix_mode_of(a->lambda);
    const size_t es = wmss_dtype_size(a->dtype);
    const mix_coef c = {vsplat(a->lambda), vsplat(1.0f - a->lambda), a->lambda, 1.0f - a->lambda};
    const int64_t V = a->vocab, vend = (V / VL) * VL;
#pragma omp parallel for schedule(static) num_threads(wmss_threads())
    for (int64_t r = 0; r < a->rows; r++) {
        const char *zs = (const char *)a->z_strong + (size_t)r * a->ld_strong * es;
        const char *zw = (const char *)a->z_weak + (size_t)r * a->ld_weak * es;
        float *out = zmix + r * V;
        for (int64_t i = 0; i < vend; i += VL) store_f32(out + i, mix_vec(zs, zw, i, mode, bf16, &c));
        for (int64_t i = vend; i < V; i++) out[i] = mix1(zs, zw, i, mode, bf16, &c);
    }
}

/**
 * logp[r] = (x[r] - max) - log(sum exp(x - max)): three sweeps (max, sum, write), fp32 like eager frameworks, the
 * max subtracted first (x - (max + log s) loses every digit near float's range). lse NaN where the row has no
 * distribution (all -inf), as the fused kernel writes it.
 */
static void pass_log_softmax(int64_t rows, int64_t V, const float *x, float *logp, float *lse) {
    const int64_t vend = (V / VL) * VL;
#pragma omp parallel for schedule(static) num_threads(wmss_threads())
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * V;
        float *out = logp + r * V;
        vf vm = vsplat(-INFINITY);
        for (int64_t i = 0; i < vend; i += VL) vm = vmax(load_f32(xr + i), vm);
        float m = hmax(vm);
        for (int64_t i = vend; i < V; i++) m = xr[i] > m ? xr[i] : m;
        const int no_max = !(m > -INFINITY);
        if (no_max) m = 0.0f; /* all -inf (or NaN): keep NaN/-inf flowing, as log_softmax does */
        vf vs = vsplat(0.0f);
        const vf vmm = vsplat(m);
        for (int64_t i = 0; i < vend; i += VL) vs += vexp_neg(clamp_lo(load_f32(xr + i) - vmm, vsplat(WMSS_EXP_FLOOR)));
        float s = (float)hsum(vs);
        for (int64_t i = vend; i < V; i++) s += expf(xr[i] - m);
        for (int64_t i = 0; i < V; i++) s += (xr[i] != xr[i]) ? NAN : 0.0f; /* NaN poisons the row */
        const float ls = logf(s);
        lse[r] = no_max ? NAN : m + ls;
        const vf vls = vsplat(ls);
        for (int64_t i = 0; i < vend; i += VL) store_f32(out + i, (load_f32(xr + i) - vmm) - vls);
        for (int64_t i = vend; i < V; i++) out[i] = (xr[i] - m) - ls;
    }
}

static void pass_nll(const wmss_ce_mix_args *a, const float *logp) {
#pragma omp parallel for schedule(static) num_threads(wmss_threads())
    for (int64_t r = 0; r < a->rows; r++) {
        const int64_t y = a->labels[r];
        a->loss[r] = y == WMSS_IGNORE_INDEX ? 0.0f : -logp[r * a->vocab + y];
    }
}

/** entropy[r] = -sum exp(logp) * logp (0 * -inf counts as 0). */
static void pass_entropy(int64_t rows, int64_t V, const float *logp, float *entropy) {
#pragma omp parallel for schedule(static) num_threads(wmss_threads())
    for (int64_t r = 0; r < rows; r++) {
        const float *lp = logp + r * V;
        double h = 0;
        for (int64_t i = 0; i < V; i++) {
            const float p = expf(lp[i]);
            h -= p > 0.0f ? (double)(p * lp[i]) : (lp[i] != lp[i] ? NAN : 0.0);
        }
        entropy[r] = (float)h;
    }
}

/**
 * g[r] = exp(logp[r]) - onehot(y); ignored rows 0, rows without a distribution (lse not finite) NaN, as the fused
 * kernel writes them (exp of a NaN logp need not stay NaN in the vector exp). Writes over logp.
 */
static void pass_softmax_grad(const wmss_ce_mix_args *a, const float *lse, float *logp_to_g) {
    const int64_t V = a->vocab, vend = (V / VL) * VL;
#pragma omp parallel for schedule(static) num_threads(wmss_threads())
    for (int64_t r = 0; r < a->rows; r++) {
        float *g = logp_to_g + r * V;
        const int64_t y = a->labels[r];
        if (y == WMSS_IGNORE_INDEX || !isfinite(lse[r])) {
            const float v = y == WMSS_IGNORE_INDEX ? 0.0f : NAN;
            for (int64_t i = 0; i < V; i++) g[i] = v;
            continue;
        }
        for (int64_t i = 0; i < vend; i += VL) store_f32(g + i, vexp_neg(clamp_lo(load_f32(g + i), vsplat(WMSS_EXP_FLOOR))));
        for (int64_t i = vend; i < V; i++) g[i] = expf(g[i]);
        g[y] -= 1.0f;
    }
}

/** out[r] = alpha * g[r], cast to the output dtype. */
static void pass_scale(const wmss_ce_mix_args *a, const float *g, float alpha, void *out, int64_t ld) {
    const int bf16 = a->dtype == WMSS_DTYPE_BF16;
    const size_t es = wmss_dtype_size(a->dtype);
    const int64_t V = a->vocab, vend = (V / VL) * VL;
    const vf va = vsplat(alpha);
#pragma omp parallel for schedule(static) num_threads(wmss_threads())
    for (int64_t r = 0; r < a->rows; r++) {
        void *o = (char *)out + (size_t)r * ld * es;
        const float *gr = g + r * V;
        for (int64_t i = 0; i < vend; i += VL) {
            vf v = va * load_f32(gr + i);
            if (any_set(v != v)) /* bf16 rounding needs finite lanes */
                for (int j = 0; j < VL; j++) store1(o, i + j, v[j], bf16);
            else
                store_any(o, i, v, bf16);
        }
        for (int64_t i = vend; i < V; i++) store1(o, i, alpha * gr[i], bf16);
    }
}

static int64_t ce_mix_unfused(const wmss_ce_mix_args *a, float *ws) {
    const int64_t n = a->rows * a->vocab;
    float *zmix = ws, *logp = ws + n;
    float *lse = a->lse ? a->lse : malloc(sizeof(float) * (size_t)(a->rows ? a->rows : 1));
    if (!lse) return -2;
    pass_mix(a, zmix);
    pass_log_softmax(a->rows, a->vocab, zmix, logp, lse);
    pass_nll(a, logp);
    if (a->entropy) pass_entropy(a->rows, a->vocab, logp, a->entropy);
    if (a->grad_strong || a->grad_weak) {
        pass_softmax_grad(a, lse, logp);
        if (a->grad_strong) pass_scale(a, logp, a->lambda * a->inv_norm, a->grad_strong, a->ld_grad_strong);
        if (a->grad_weak) pass_scale(a, logp, (1.0f - a->lambda) * a->inv_norm, a->grad_weak, a->ld_grad_weak);
    }
    int64_t first_bad = -1;
    const int want_stats = a->lse || a->entropy;
    for (int64_t r = 0; r < a->rows && first_bad < 0; r++) {
        const int labelled = a->labels[r] != WMSS_IGNORE_INDEX;
        if ((labelled && !isfinite(a->loss[r])) || ((labelled || want_stats) && !isfinite(lse[r]))) first_bad = r;
    }
    if (lse != a->lse) free(lse);
    return first_bad;
}

const wmss_cpu_kernels WMSS_CAT(wmss_cpu_kernels_, WMSS_VARIANT) = {
    WMSS_STR(WMSS_VARIANT), ce_mix_fused, ce_mix_unfused};
