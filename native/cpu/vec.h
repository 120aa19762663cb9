/*
 * vec.h — float vectors with GCC/Clang vector extensions, as wide as the translation unit's ISA (16 lanes for
 * AVX-512, 8 for AVX2, 4 for SSE2; cmake/cpu-variants.cmake sets -march). Wider-than-native generic vectors
 * are not an option: GCC scalarises their comparisons.
 */
#ifndef WMSS_VEC_H
#define WMSS_VEC_H

#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__)
#define VL 16
#elif defined(__AVX2__)
#define VL 8
#else
#define VL 4
#endif
typedef float vf __attribute__((vector_size(VL * 4)));
typedef int32_t vi __attribute__((vector_size(VL * 4)));
typedef uint32_t vu __attribute__((vector_size(VL * 4)));
typedef uint16_t vh __attribute__((vector_size(VL * 2)));

#define WMSS_INLINE static inline __attribute__((always_inline))

WMSS_INLINE vf vsplat(float x) {
    vf v;
    for (int i = 0; i < VL; i++) v[i] = x;
    return v;
}

/** Lane-wise select: m ? a : b, with m a comparison result (all ones / zeros). */
WMSS_INLINE vf vsel(vi m, vf a, vf b) { return (vf)((m & (vi)a) | (~m & (vi)b)); }

/** x86 MAXPS: a > b ? a : b, so b is returned when either is NaN. One instruction on every variant. */
WMSS_INLINE vf vmax(vf a, vf b) {
#if VL == 16
    return (vf)_mm512_max_ps((__m512)a, (__m512)b);
#elif VL == 8
    return (vf)_mm256_max_ps((__m256)a, (__m256)b);
#else
    return (vf)_mm_max_ps((__m128)a, (__m128)b);
#endif
}
/** max(d, lo) that keeps NaN in d (so NaN reaches the sums and is detected there). */
WMSS_INLINE vf clamp_lo(vf d, vf lo) { return vmax(lo, d); }

WMSS_INLINE float hmax(vf v) {
    float m = v[0];
    for (int i = 1; i < VL; i++) m = v[i] > m ? v[i] : m;
    return m;
}
WMSS_INLINE double hsum(vf v) {
    double s = 0;
    for (int i = 0; i < VL; i++) s += v[i];
    return s;
}
WMSS_INLINE int any_set(vi m) {
    int r = 0;
    for (int i = 0; i < VL; i++) r |= m[i];
    return r != 0;
}

/* ---- loads and stores: fp32 and bf16 (bf16 -> fp32 is exact; fp32 -> bf16 rounds to nearest even) ---- */

WMSS_INLINE vf load_f32(const float *p) {
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}
WMSS_INLINE void store_f32(float *p, vf v) { memcpy(p, &v, sizeof v); }

/** VL bf16 values to fp32: each 16-bit pattern becomes the high half of a 32-bit lane (one unpack or zero-extend). */
WMSS_INLINE vf load_bf16(const uint16_t *p) {
#if VL == 16
    return (vf)_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16);
#elif VL == 8
    return (vf)_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p)), 16);
#else
    return (vf)_mm_unpacklo_epi16(_mm_setzero_si128(), _mm_loadl_epi64((const __m128i *)p));
#endif
}
/** Round to nearest even; callers only pass finite values (bad rows are written by scalar code). */
WMSS_INLINE vh bf16_narrow(vf v) {
#if defined(__AVX512BF16__) && VL == 16
    return (vh)_mm512_cvtneps_pbh((__m512)v); /* one instruction (AVX512-BF16: Zen 4, Cooper Lake, SPR) */
#else
    vu b = (vu)v;
    b += 0x7FFFu + ((b >> 16) & 1u);
    return __builtin_convertvector(b >> 16, vh);
#endif
}
WMSS_INLINE void store_bf16(uint16_t *p, vf v) {
    vh h = bf16_narrow(v);
    memcpy(p, &h, sizeof h);
}

/*
 * Non-temporal stores (no read-for-ownership of the destination line): for gradients written out of place.
 * The address must be aligned to the vector's size (VL * element size); callers check with nt_aligned.
 */
WMSS_INLINE int nt_aligned(const void *p, int bf16) { return ((uintptr_t)p % (VL * (bf16 ? 2 : 4))) == 0; }
/** Aligned for store2_bf16's streaming store (2 * VL bf16 values). */
WMSS_INLINE int nt_aligned2(const void *p) { return ((uintptr_t)p % (2 * VL * 2)) == 0; }
WMSS_INLINE void stream_f32(float *p, vf v) {
#if VL == 16
    _mm512_stream_ps(p, (__m512)v);
#elif VL == 8
    _mm256_stream_ps(p, (__m256)v);
#else
    _mm_stream_ps(p, (__m128)v);
#endif
}
WMSS_INLINE void stream_bf16(uint16_t *p, vf v) {
    vh h = bf16_narrow(v);
#if VL == 16
    _mm256_stream_si256((__m256i *)p, (__m256i)h);
#elif VL == 8
    _mm_stream_si128((__m128i *)p, (__m128i)h);
#else
    memcpy(p, &h, sizeof h); /* 8 bytes: no SSE2 streaming store for that width */
#endif
}

WMSS_INLINE float bf16_to_f32(uint16_t h) {
    uint32_t b = (uint32_t)h << 16;
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}
WMSS_INLINE uint16_t f32_to_bf16(float f) {
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    if (f != f) return (uint16_t)((b >> 16) | 0x40u); /* quiet NaN stays NaN */
    b += 0x7FFFu + ((b >> 16) & 1u);
    return (uint16_t)(b >> 16);
}

/* Range reduction constants and Cephes' expf polynomial (~1 ulp on |r| <= ln2/2). */
#define WMSS_EXP_POLY(r)                                   \
    ({                                                      \
        vf p_ = vsplat(1.9875691500E-4f);                   \
        p_ = p_ * (r) + vsplat(1.3981999507E-3f);           \
        p_ = p_ * (r) + vsplat(8.3334519073E-3f);           \
        p_ = p_ * (r) + vsplat(4.1665795894E-2f);           \
        p_ = p_ * (r) + vsplat(1.6666665459E-1f);           \
        p_ = p_ * (r) + vsplat(5.0000001201E-1f);           \
        p_ * (r) * (r) + (r) + vsplat(1.0f);                \
    })

#if VL == 16
/*
 * exp(x) for x in [WMSS_EXP_FLOOR, 0] (callers clamp with clamp_lo): x = n*ln2 + r, polynomial in r, and
 * VSCALEFPS for 2^n, which underflows to exactly 0 at the floor and turns NaN into NaN (so NaN logits need no
 * separate check: they reach the row sum).
 */
#define WMSS_EXP_FLOOR (-110.0f)
#define WMSS_EXP_KEEPS_NAN 1
WMSS_INLINE vf vexp_neg(vf x) {
    const vf magic = vsplat(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    vf n = (x * vsplat(1.44269504088896341f) + magic) - magic;
    vf r = x - n * vsplat(0.693359375f);
    r = r - n * vsplat(-2.12194440e-4f);
    vf p = WMSS_EXP_POLY(r);
    return (vf)_mm512_scalef_ps((__m512)p, (__m512)n);
}
/** The lower edge of vexp_neg_in_range's input; below it exp is exactly 0 here by itself, so `under` is not needed. */
#define WMSS_EXP_LO WMSS_EXP_FLOOR
WMSS_INLINE vf vexp_neg_in_range(vf x, vi under) {
    (void)under;
    return vexp_neg(x);
}
#else
/*
 * exp(x) for x <= 0 (NaN kept: see WMSS_EXP_KEEPS_NAN): x = (n + r) ln 2 with the product x*log2(e) split over two
 * constants inside FMAs (no rounding of x*log2e), a degree-5 minimax polynomial for 2^r on [-1/2, 1/2] (relative
 * error 1.9e-7 in fp32 Horner), and 2^n built in the exponent bits. Inputs below -87.3 (2^n would leave the
 * normal range) give exactly 0: their terms are < 1.2e-38 of a sum that is >= 1. 13 vector operations.
 */
#define WMSS_EXP_FLOOR (-104.0f)
#define WMSS_EXP_KEEPS_NAN 0
#define WMSS_EXP_LO (-87.3f)
/** The same for x already in [WMSS_EXP_LO, 0] (or NaN), with the lanes whose input was below it in `under` (-> 0). */
WMSS_INLINE vf vexp_neg_in_range(vf x, vi under) {
    const vf magic = vsplat(12582912.0f); /* 1.5 * 2^23: adding it rounds to an integer */
    const vf t = x * vsplat(1.44269504088896341f) + magic;
    const vf n = t - magic;
    vf r = x * vsplat(1.44269502162933349609375f) - n; /* log2(e) = hi + lo, hi with 24 bits */
    r = x * vsplat(1.925963033500011079e-8f) + r;
    vf p = vsplat(1.326533267274499e-3f);
    p = p * r + vsplat(9.671513922512531e-3f);
    p = p * r + vsplat(5.5507317185401917e-2f);
    p = p * r + vsplat(2.4022242426872253e-1f);
    p = p * r + vsplat(6.931470036506653e-1f);
    p = p * r + vsplat(1.0f);
    /* t = magic + n holds n in its low mantissa bits; magic's own bits there are 0, so t << 23 is n << 23 (mod 2^32). */
    const vf y = (vf)((vi)p + ((vi)t << 23));
    return (vf)(~under & (vi)y);
}
WMSS_INLINE vf vexp_neg(vf x) {
    const vf lo = vsplat(WMSS_EXP_LO);
    return vexp_neg_in_range(vmax(lo, x), x < lo); /* NaN stays NaN (and is not "under") */
}
#endif

/*
 * Two vectors to 2 * VL bf16 values, rounded to nearest even (finite lanes only), stored as one: with AVX2 one
 * pack instruction narrows both. how: 0 = ordinary store, 1 = streaming store (p aligned to 2 * VL * 2 bytes).
 */
WMSS_INLINE void store2_bf16(uint16_t *p, vf a, vf b, int how) {
#if VL == 8
    vu ua = (vu)a, ub = (vu)b;
    ua = (ua + 0x7FFFu + ((ua >> 16) & 1u)) >> 16;
    ub = (ub + 0x7FFFu + ((ub >> 16) & 1u)) >> 16;
    const __m256i h = _mm256_permute4x64_epi64(_mm256_packus_epi32((__m256i)ua, (__m256i)ub), 0xD8);
    if (how == 1)
        _mm256_stream_si256((__m256i *)p, h);
    else
        _mm256_storeu_si256((__m256i *)p, h);
#else
    if (how == 1) {
        stream_bf16(p, a);
        stream_bf16(p + VL, b);
    } else {
        store_bf16(p, a);
        store_bf16(p + VL, b);
    }
#endif
}
#endif
