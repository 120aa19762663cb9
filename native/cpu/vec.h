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

WMSS_INLINE vf bf16_widen(vh h) { return (vf)(__builtin_convertvector(h, vu) << 16); }
WMSS_INLINE vf load_bf16(const uint16_t *p) {
    vh h;
    memcpy(&h, p, sizeof h);
    return bf16_widen(h);
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
#else
/*
 * exp(x) for x in [WMSS_EXP_FLOOR, 0]: as above, with 2^n built in the exponent bits; inputs below -87 flush to
 * exactly 0 (their terms are < 2e-38 of a sum that is >= 1). NaN is not propagated: callers check for it.
 */
#define WMSS_EXP_FLOOR (-104.0f)
#define WMSS_EXP_KEEPS_NAN 0
WMSS_INLINE vf vexp_neg(vf x) {
    const vf lo = vsplat(-87.0f);
    vi under = x < lo;
    x = vmax(x, lo);
    const vf magic = vsplat(12582912.0f);
    vf t = x * vsplat(1.44269504088896341f) + magic;
    vf n = t - magic;
    vi ni = (vi)t - (vi)magic;
    vf r = x - n * vsplat(0.693359375f);
    r = r - n * vsplat(-2.12194440e-4f);
    vf p = WMSS_EXP_POLY(r);
    vf y = (vf)((vi)p + (ni << 23));
    return (vf)(~under & (vi)y);
}
#endif

#endif
