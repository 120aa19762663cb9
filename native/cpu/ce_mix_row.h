/*
 * ce_mix_row.h — the per-row algorithm of the fused ce_mix kernel, shared by every CPU variant.
 *
 * The inputs are read from memory once. Sweep 1 walks the row in chunks that stay in L1: mix into a per-thread
 * fp32 scratch row and take the chunk max, then overwrite the chunk with e = exp(z - M) against the running max
 * (rescaling the sums once per chunk: one exp per element), summed in fp32 lanes per chunk and in double across
 * chunks. Sweep 2 (only when a gradient is wanted) scales the staged e by one scalar per chunk while the scratch
 * row is still in cache, and writes both gradients. Rows are independent: the caller parallelises over rows.
 */
#ifndef WMSS_CE_MIX_ROW_H
#define WMSS_CE_MIX_ROW_H

#include "cpu.h"
#include "vec.h"

#define WMSS_CHUNK 2048 /* elements per chunk: 8 KiB of each fp32 input */

enum mix_mode { MIX_BOTH, MIX_STRONG_ONLY, MIX_WEAK_ONLY };

typedef struct mix_coef {
    vf l, mu;
    float ls, mus;
} mix_coef;

WMSS_INLINE vf load_any(const void *base, int64_t i, int bf16) {
    return bf16 ? load_bf16((const uint16_t *)base + i) : load_f32((const float *)base + i);
}
WMSS_INLINE float load1(const void *base, int64_t i, int bf16) {
    return bf16 ? bf16_to_f32(((const uint16_t *)base)[i]) : ((const float *)base)[i];
}
WMSS_INLINE void store_any(void *base, int64_t i, vf v, int bf16) {
    if (bf16)
        store_bf16((uint16_t *)base + i, v);
    else
        store_f32((float *)base + i, v);
}
WMSS_INLINE void stream_any(void *base, int64_t i, vf v, int bf16) {
    if (bf16)
        stream_bf16((uint16_t *)base + i, v);
    else
        stream_f32((float *)base + i, v);
}
WMSS_INLINE void store1(void *base, int64_t i, float v, int bf16) {
    if (bf16)
        ((uint16_t *)base)[i] = f32_to_bf16(v);
    else
        ((float *)base)[i] = v;
}

/** Mixed logits of lanes [i, i+VL); lambda = 0 / 1 read one input only so that 0 * inf never happens. */
WMSS_INLINE vf mix_vec(const void *zs, const void *zw, int64_t i, int mode, int bf16, const mix_coef *c) {
    if (mode == MIX_STRONG_ONLY) return load_any(zs, i, bf16);
    if (mode == MIX_WEAK_ONLY) return load_any(zw, i, bf16);
    return c->l * load_any(zs, i, bf16) + c->mu * load_any(zw, i, bf16);
}
WMSS_INLINE float mix1(const void *zs, const void *zw, int64_t i, int mode, int bf16, const mix_coef *c) {
    if (mode == MIX_STRONG_ONLY) return load1(zs, i, bf16);
    if (mode == MIX_WEAK_ONLY) return load1(zw, i, bf16);
    return c->ls * load1(zs, i, bf16) + c->mus * load1(zw, i, bf16);
}
/** The last k < VL lanes of a row, padded with -inf (which contributes exactly 0 to every sum). */
WMSS_INLINE vf mix_tail(const void *zs, const void *zw, int64_t i, int64_t k, int mode, int bf16,
                        const mix_coef *c) {
    vf v = vsplat(-INFINITY);
    for (int64_t j = 0; j < k; j++) v[j] = mix1(zs, zw, i + j, mode, bf16, c);
    return v;
}

typedef struct row_stats {
    float max;      /* row max of z_mix */
    double sum;     /* sum exp(z - max) */
    double tsum;    /* sum exp(z - max) * (z - max), for the entropy */
    int undefined;  /* NaN or +inf present, or every entry -inf: no distribution */
} row_stats;

/** Rows are staged in a per-thread fp32 scratch of wmss_row_scratch_floats(V) (L2-resident for real vocabularies). */
static inline int64_t wmss_row_scratch_floats(int64_t V) { return (V + VL - 1) / VL * VL; }
static inline int64_t wmss_row_chunks(int64_t V) { return V / WMSS_CHUNK + 1; }

/**
 * e = exp(z - M) of one vector of the staged row (overwriting it when keep_e), accumulated into s and t. One clamp
 * serves the exp and the entropy term: d below the exp's range is clamped to its edge and its e is exactly 0, so
 * e * d is 0 for -inf entries.
 */
WMSS_INLINE void exp_step(float *x, vf m, vf lo, int keep_e, vf *s, vf *t) {
    const vf d0 = load_f32(x) - m;
    const vf d = clamp_lo(d0, lo);
    const vf e = vexp_neg_in_range(d, d0 < lo);
    if (keep_e) store_f32(x, e);
    *s += e;
    *t += e * d;
}

/**
 * Sweep 1, chunk by chunk: (a) mix into the scratch and take the chunk max; (b) replace the scratch by
 * e = exp(z - M), M the running max after this chunk, and accumulate sum e and sum e*(z - M). chunk_max[c]
 * keeps the M each chunk's e is relative to, so sweep 2 rescales a whole chunk with one scalar and never
 * needs a second exp.
 */
WMSS_INLINE row_stats row_stats_stage(const void *zs, const void *zw, int64_t V, int mode, int bf16,
                                      const mix_coef *c, float *scratch, float *chunk_max, int keep_e) {
    row_stats st = {-INFINITY, 0.0, 0.0, 0};
    vi nan = (vi)vsplat(0.0f);
    const vf floor_d = vsplat(WMSS_EXP_LO);
    const int64_t es = bf16 ? 2 : 4;
    for (int64_t c0 = 0, ci = 0; c0 < V; c0 += WMSS_CHUNK, ci++) {
        const int64_t end = c0 + WMSS_CHUNK < V ? c0 + WMSS_CHUNK : V;
        const int64_t vend = c0 + ((end - c0) / VL) * VL;
        vf cm = vsplat(-INFINITY);
        /* NaN needs no test here: d = z - M keeps it, so it reaches the entropy sum t below (NaN * e is NaN
         * whatever exp made of it), and an all-NaN chunk is caught on the -inf path. */
        for (int64_t i = c0; i < vend; i += VL) {
            vf x = mix_vec(zs, zw, i, mode, bf16, c);
            cm = vmax(x, cm);
            store_f32(scratch + i, x);
        }
        int64_t stop = vend;
        if (vend < end) {
            vf x = mix_tail(zs, zw, vend, end - vend, mode, bf16, c);
            nan |= x != x;
            cm = vmax(x, cm);
            store_f32(scratch + vend, x);
            stop = vend + VL;
        }
        const float cmax = hmax(cm);
        if (cmax == INFINITY) st.undefined = 1;
        if (cmax > st.max && !st.undefined) {
            if (st.sum > 0) {
                const double shift = (double)st.max - (double)cmax, f = exp(shift);
                st.tsum = f * (st.tsum + shift * st.sum);
                st.sum *= f;
            }
            st.max = cmax;
        }
        chunk_max[ci] = st.max;
        if (st.max == -INFINITY) {
            /* Nothing above -inf yet: these entries are -inf (or NaN) and contribute exactly 0, but the vector
             * path would compute (-inf) - (-inf) = NaN. Rare (masked prefixes), so scalar. */
            for (int64_t i = c0; i < stop; i++) {
                if (scratch[i] != scratch[i]) st.undefined = 1;
                if (keep_e) scratch[i] = 0.0f;
            }
            continue;
        }
        const vf m = vsplat(st.max);
        vf s = vsplat(0.0f), t = vsplat(0.0f);
        /* While this chunk is computed from L1, have the next chunk of the inputs stream in (memory would idle):
         * one prefetch per 64-byte line of each input, i.e. every `line` elements. */
        const char *next_s = (const char *)zs + (end < V ? end : c0) * es, *next_w = (const char *)zw + (end < V ? end : c0) * es;
        const int64_t line = 64 / es; /* elements per line: 2 or 4 vectors, unrolled */
        int64_t i = c0;
        for (; i + line <= stop; i += line) {
            if (mode != MIX_WEAK_ONLY) __builtin_prefetch(next_s + (i - c0) * es, 0, 2);
            if (mode != MIX_STRONG_ONLY) __builtin_prefetch(next_w + (i - c0) * es, 0, 2);
#pragma GCC unroll 4
            for (int64_t j = i; j < i + line; j += VL) exp_step(scratch + j, m, floor_d, keep_e, &s, &t);
        }
        for (; i < stop; i += VL) exp_step(scratch + i, m, floor_d, keep_e, &s, &t);
        st.sum += hsum(s);
        st.tsum += hsum(t);
    }
    /* NaN logits reach the sums when the exp keeps NaN, else the nan mask; an all -inf row has sum 0. */
    if (any_set(nan) || !(st.max > -INFINITY) || !(st.sum > 0) || isnan(st.tsum)) st.undefined = 1;
    return st;
}

/**
 * Sweep 2: g = e * exp(M_chunk - M) / sum * k, from the staged e; the label column is fixed up by the caller.
 * A gradient written out of place to a vector-aligned row uses non-temporal stores (its old contents are never
 * read); in place, the lines are in cache already and ordinary stores are cheaper.
 */
WMSS_INLINE void grad_store(void *g, int64_t i, vf v, int bf16, int stream) {
    if (stream)
        stream_any(g, i, v, bf16);
    else
        store_any(g, i, v, bf16);
}

/** The sweep for one combination of outputs and store kind; always inlined with constants, so no branch is left. */
WMSS_INLINE void row_grad_sweep_k(const float *scratch, const float *chunk_max, int64_t V, const int bf16, float max,
                                  double ks, double kw, double inv_sum, void *gs, void *gw, const int has_s,
                                  const int has_w, const int nt_s, const int nt_w) {
    for (int64_t c0 = 0, ci = 0; c0 < V; c0 += WMSS_CHUNK, ci++) {
        const int64_t end = c0 + WMSS_CHUNK < V ? c0 + WMSS_CHUNK : V;
        const int64_t vend = c0 + ((end - c0) / VL) * VL;
        const double f = exp((double)chunk_max[ci] - (double)max) * inv_sum;
        const float cs = (float)(ks * f), cw = (float)(kw * f);
        const vf vcs = vsplat(cs), vcw = vsplat(cw);
        int64_t i = c0;
        if (bf16) /* pairs of vectors: one narrowing pack for both (AVX2) */
            for (; i + 2 * VL <= vend; i += 2 * VL) {
                const vf e0 = load_f32(scratch + i), e1 = load_f32(scratch + i + VL);
                if (has_s) store2_bf16((uint16_t *)gs + i, e0 * vcs, e1 * vcs, nt_s);
                if (has_w) store2_bf16((uint16_t *)gw + i, e0 * vcw, e1 * vcw, nt_w);
            }
        for (; i < vend; i += VL) {
            const vf e = load_f32(scratch + i);
            if (has_s) grad_store(gs, i, e * vcs, bf16, nt_s);
            if (has_w) grad_store(gw, i, e * vcw, bf16, nt_w);
        }
        for (i = vend; i < end; i++) {
            if (has_s) store1(gs, i, scratch[i] * cs, bf16);
            if (has_w) store1(gw, i, scratch[i] * cw, bf16);
        }
    }
}

/**
 * Sweep 2: g = e * exp(M_chunk - M) / sum * k, from the staged e; the label column is fixed up by the caller.
 * A gradient written out of place to a vector-aligned row uses non-temporal stores (its old contents are never
 * read); in place, the lines are in cache already and ordinary stores are cheaper. The usual combinations (both
 * gradients, streamed or not; the strong one alone) get their own branch-free loop.
 */
WMSS_INLINE void row_grad_sweep(const float *scratch, const float *chunk_max, int64_t V, const int bf16, float max,
                                double ks, double kw, double inv_sum, void *gs, void *gw, int nt_s, int nt_w) {
#define SWEEP(HS, HW, NS, NW) row_grad_sweep_k(scratch, chunk_max, V, bf16, max, ks, kw, inv_sum, gs, gw, HS, HW, NS, NW)
    if (gs && gw && nt_s && nt_w) SWEEP(1, 1, 1, 1);
    else if (gs && gw && !nt_s && !nt_w) SWEEP(1, 1, 0, 0);
    else if (gs && !gw && !nt_s) SWEEP(1, 0, 0, 0);
    else SWEEP(gs != NULL, gw != NULL, nt_s, nt_w);
#undef SWEEP
}

WMSS_INLINE void row_fill(void *g, int64_t V, float v, int bf16) {
    if (!g) return;
    for (int64_t i = 0; i < V; i++) store1(g, i, v, bf16);
}

/**
 * One row of the fused op, staged through scratch (wmss_row_scratch_floats(V) floats) and chunk_max
 * (V / WMSS_CHUNK + 1 floats). Returns 1 if the row's outputs are not finite (NaN/inf written), else 0.
 */
WMSS_INLINE int ce_mix_row(const wmss_ce_mix_args *a, int64_t r, int mode, int bf16, float *scratch, float *chunk_max) {
    const size_t es = bf16 ? 2 : 4;
    const int64_t V = a->vocab;
    const char *zs = (const char *)a->z_strong + (size_t)r * a->ld_strong * es;
    const char *zw = (const char *)a->z_weak + (size_t)r * a->ld_weak * es;
    void *gs = a->grad_strong ? (char *)a->grad_strong + (size_t)r * a->ld_grad_strong * es : NULL;
    void *gw = a->grad_weak ? (char *)a->grad_weak + (size_t)r * a->ld_grad_weak * es : NULL;
    const float lam = a->lambda, mu = 1.0f - a->lambda;
    const mix_coef c = {vsplat(lam), vsplat(mu), lam, mu};
    const int64_t y = a->labels ? a->labels[r] : WMSS_IGNORE_INDEX;
    const int labelled = y != WMSS_IGNORE_INDEX;
    const int want_stats = a->lse || a->entropy;

    if (!labelled && !want_stats) {
        if (a->loss) a->loss[r] = 0.0f;
        row_fill(gs, V, 0.0f, bf16);
        row_fill(gw, V, 0.0f, bf16);
        return 0;
    }
    const float zy = labelled ? mix1(zs, zw, y, mode, bf16, &c) : 0.0f; /* read before an in-place sweep */
    const row_stats st = row_stats_stage(zs, zw, V, mode, bf16, &c, scratch, chunk_max, labelled && (gs || gw));
    const double log_sum = log(st.sum);
    if (a->lse) a->lse[r] = st.undefined ? NAN : (float)(st.max + log_sum);
    if (a->entropy) a->entropy[r] = st.undefined ? NAN : (float)(log_sum - st.tsum / st.sum);
    if (!labelled) { /* cleared only now: in place, the statistics above read the row first */
        if (a->loss) a->loss[r] = 0.0f;
        row_fill(gs, V, 0.0f, bf16);
        row_fill(gw, V, 0.0f, bf16);
        return st.undefined;
    }
    if (st.undefined) {
        if (a->loss) a->loss[r] = NAN;
        row_fill(gs, V, NAN, bf16);
        row_fill(gw, V, NAN, bf16);
        return 1;
    }
    const double loss = ((double)st.max - (double)zy) + log_sum; /* +inf when z_mix[y] = -inf */
    if (a->loss) a->loss[r] = (float)loss;
    if (gs || gw) {
        const double inv_sum = 1.0 / st.sum;
        const double ks = (double)lam * a->inv_norm, kw = (double)mu * a->inv_norm;
        const int nt_s = gs && gs != (const void *)zs && nt_aligned(gs, bf16) && (!bf16 || nt_aligned2(gs));
        const int nt_w = gw && gw != (const void *)zw && nt_aligned(gw, bf16) && (!bf16 || nt_aligned2(gw));
        row_grad_sweep(scratch, chunk_max, V, bf16, st.max, ks, kw, inv_sum, gs, gw, nt_s, nt_w);
        if (nt_s || nt_w) _mm_sfence(); /* streaming stores are weakly ordered: publish them before the fix-up */
        const double py_minus_1 = exp((double)zy - (double)st.max) * inv_sum - 1.0;
        if (gs) store1(gs, y, (float)(ks * py_minus_1), bf16);
        if (gw) store1(gw, y, (float)(kw * py_minus_1), bf16);
    }
    return !isfinite((float)loss);
}

#endif
