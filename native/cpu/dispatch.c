/* Run-time choice of the CPU variant: the best this CPU supports, or the one forced by WMSS_CPU_ISA. */
#include <stdlib.h>
#include <string.h>

#include "cpu.h"

static const wmss_cpu_kernels *const variants[] = {&wmss_cpu_kernels_avx512bf16, &wmss_cpu_kernels_avx512,
                                                   &wmss_cpu_kernels_avx2, &wmss_cpu_kernels_sse2};

static int cpu_supports(const wmss_cpu_kernels *k) {
    __builtin_cpu_init();
    if (k == &wmss_cpu_kernels_avx512bf16)
        return cpu_supports(&wmss_cpu_kernels_avx512) && __builtin_cpu_supports("avx512bf16");
    if (k == &wmss_cpu_kernels_avx512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    if (k == &wmss_cpu_kernels_avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return 1;
}

static const wmss_cpu_kernels *best(void) {
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++)
        if (cpu_supports(variants[i])) return variants[i];
    return &wmss_cpu_kernels_sse2;
}

/* Read on every call from any thread; written by the first call and by wmss_cpu_set_isa. */
static const wmss_cpu_kernels *_Atomic active;

static int select_isa(const char *name) {
    if (!name || !*name || strcmp(name, "auto") == 0) {
        active = best();
        return WMSS_OK;
    }
    for (size_t i = 0; i < sizeof variants / sizeof *variants; i++) {
        if (strcmp(variants[i]->name, name) != 0) continue;
        if (!cpu_supports(variants[i]))
            return wmss_fail(WMSS_ERR_UNSUPPORTED, "wmss_cpu_set_isa: this CPU does not support %s", name);
        active = variants[i];
        return WMSS_OK;
    }
    return wmss_fail(WMSS_ERR_ARGUMENT, "wmss_cpu_set_isa: unknown ISA '%s' (avx512bf16, avx512, avx2, sse2 or auto)", name);
}

const wmss_cpu_kernels *wmss_cpu_active(void) {
    const wmss_cpu_kernels *k = active;
    if (k) return k;
    if (select_isa(getenv("WMSS_CPU_ISA")) != WMSS_OK) { /* unusable WMSS_CPU_ISA: the best variant, and no stale error */
        active = best();
        wmss_clear_error();
    }
    return active;
}

int wmss_cpu_set_isa(const char *name) { return select_isa(name); }

const char *wmss_cpu_isa(void) { return wmss_cpu_active()->name; }
