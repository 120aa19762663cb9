/* Declarations shared by the CPU sources: the compiled ISA variants and the thread count. */
#ifndef WMSS_CPU_H
#define WMSS_CPU_H

#include "../common/internal.h"

#ifdef __cplusplus
extern "C" {
#endif

/** One compiled CPU variant (the same source built for several ISAs; see cmake/cpu-variants.cmake). */
typedef struct wmss_cpu_kernels {
    const char *name;
    /* Both return the first row whose result is not finite, -1 if none, or -2 when out of memory. */
    int64_t (*ce_mix)(const wmss_ce_mix_args *a);
    int64_t (*ce_mix_unfused)(const wmss_ce_mix_args *a, float *workspace);
} wmss_cpu_kernels;

extern const wmss_cpu_kernels wmss_cpu_kernels_avx512bf16;
extern const wmss_cpu_kernels wmss_cpu_kernels_avx512;
extern const wmss_cpu_kernels wmss_cpu_kernels_avx2;
extern const wmss_cpu_kernels wmss_cpu_kernels_sse2;

/** The variant chosen at load time (or forced by wmss_cpu_set_isa / WMSS_CPU_ISA). */
const wmss_cpu_kernels *wmss_cpu_active(void);

/** Threads of every parallel region (process-wide, unlike OpenMP's per-thread ICV): wmss_set_num_threads. */
int wmss_threads(void);

#ifdef __cplusplus
}
#endif
#endif
