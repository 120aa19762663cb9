/* Internal declarations shared by the CPU sources (not part of the ABI). */
#ifndef WMSS_INTERNAL_H
#define WMSS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "wmss.h"

#ifdef __cplusplus
extern "C" {
#endif

/** All arguments of one ce_mix call (fused or unfused), validated once by wmss_check_ce_args. */
typedef struct wmss_ce_args {
    int dtype;
    int64_t rows, vocab;
    const void *zs;
    int64_t ld_zs;
    const void *zw;
    int64_t ld_zw;
    const int64_t *labels; /* NULL only for wmss_entropy without labels */
    float lambda, inv_norm;
    float *loss;
    void *gs;
    int64_t ld_gs;
    void *gw;
    int64_t ld_gw;
    float *lse, *entropy;
    uint32_t flags;
} wmss_ce_args;

/** One compiled CPU variant (the same source built for several ISAs; see cmake/cpu-variants.cmake). */
typedef struct wmss_cpu_kernels {
    const char *name;
    /* Both return the first row whose result is not finite, or -1. */
    int64_t (*ce_mix)(const wmss_ce_args *a);
    int64_t (*ce_mix_unfused)(const wmss_ce_args *a, float *workspace);
} wmss_cpu_kernels;

extern const wmss_cpu_kernels wmss_cpu_kernels_avx512bf16;
extern const wmss_cpu_kernels wmss_cpu_kernels_avx512;
extern const wmss_cpu_kernels wmss_cpu_kernels_avx2;
extern const wmss_cpu_kernels wmss_cpu_kernels_sse2;

/** The variant chosen at load time (or forced by wmss_cpu_set_isa / WMSS_CPU_ISA). */
const wmss_cpu_kernels *wmss_cpu_active(void);

/** Stores a printf-style message for wmss_last_error() and returns status. */
int wmss_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wmss_clear_error(void);

/**
 * Validates everything about a call before any output is touched; fn names the caller in messages. Labels are
 * range-checked only when they are in host memory (the CUDA kernels report bad labels through their status).
 */
int wmss_check_ce_args(const wmss_ce_args *a, const char *fn, int labels_on_host);

size_t wmss_dtype_size(int dtype);

/** Threads of every parallel region (process-wide, unlike OpenMP's per-thread ICV): wmss_set_num_threads. */
int wmss_threads(void);

#ifdef __cplusplus
}
#endif
#endif
