/*
 * wmss_dev.h — exports of libwmss that exist for this project's own tests and benchmarks, not for its users:
 * the CUDA kernel's variant switch, the host emulation of the CUDA algorithm (tested on every CI run without a
 * GPU), the launch-plan helpers it is checked with, and the copy that is the benchmarks' bandwidth roofline.
 * Same conventions as wmss.h (status codes, wmss_last_error()), but no stability promise: they change with the
 * kernels they test, without a WMSS_ABI_VERSION bump. A library user needs wmss.h only.
 */
#ifndef WMSS_DEV_H
#define WMSS_DEV_H

#include "wmss.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Multi-threaded memcpy (the roofline reference of the benchmarks). Regions must not overlap. */
WMSS_API int wmss_copy(void *dst, const void *src, int64_t bytes);

/* ---------------------------------------------------------------- the CUDA kernel's variants */

/**
 * The variant of the fused kernel that wmss_cuda_ce_mix, wmss_cuda_entropy and the host emulation use, process
 * wide: "auto" (the default: the plan believed best), "v1", "v2", "v3", "v4" or "v5" (benchmarks/gpu/NOTES.md says
 * what each does). The environment variable WMSS_CUDA_CE_MIX_VARIANT (wmss.h's documented way), read once at the
 * first launch, sets the initial choice (an unknown name makes launches fail with WMSS_ERR_ARGUMENT until this is
 * called). Every variant keeps wmss.h's contract. Always built (the host emulation uses it too).
 */
WMSS_API int wmss_cuda_set_variant(const char *name);
/** The variant in force ("auto", "v1", ...; "invalid" when the environment names none). Never NULL. */
WMSS_API const char *wmss_cuda_variant(void);

/* ---------------------------------------------------------------- testing the CUDA algorithm without a GPU */

/**
 * The CUDA fused kernel's algorithm run on the CPU on host memory: the launch plan for a GPU with sm_count SMs
 * (0: 132) and clusters of up to max_cluster blocks (1 models sm_80, which has no clusters; 0: 8), the same
 * element-to-thread assignment (16-byte vectors where the row's chunk is 16-byte aligned, as the device decides
 * from its own pointers), the same reduction order (warp butterflies, warps in order, cluster ranks in order) and
 * the same __host__ __device__ arithmetic (explicit fmaf where the device would contract). What differs: expf and
 * logf come from the host libm (the device's differ by an ulp or two). split > 0 forces that many blocks per row.
 * Always built; flags as wmss_ce_mix.
 */
WMSS_API int wmss_cuda_host_ce_mix(const wmss_ce_mix_args *args, int sm_count, int max_cluster, int split);
/** The entropy op through the same emulation (what wmss_cuda_entropy launches: lambda = 1, no gradients). */
WMSS_API int wmss_cuda_host_entropy(const wmss_entropy_args *args, int sm_count, int max_cluster, int split);
/**
 * The cluster size the launcher allows for a device (compute capability major, cudaDevAttrClusterLaunch) running
 * code of a given PTX version (cudaFuncAttributes.ptxVersion): 8 only when both sides have sm_90 clusters, else 1.
 */
WMSS_API int wmss_cuda_cluster_limit(int cc_major, int cluster_launch, int ptx_version, int *max_cluster);
/** The launch plan: out4 = {split, chunk, resident, shared-memory bytes}. */
WMSS_API int wmss_cuda_plan(int64_t rows, int64_t vocab, int sm_count, int max_cluster, int64_t smem_budget,
                            int64_t *out4);

#ifdef __cplusplus
}
#endif
#endif /* WMSS_DEV_H */
