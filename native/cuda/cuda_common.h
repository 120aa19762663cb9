// Shared by the CUDA sources: the C-side internals and the error plumbing of CUDA runtime calls.
#pragma once
#include <cuda_runtime.h>

#include "../common/internal.h"

/**
 * Returns WMSS_ERR_CUDA (WMSS_ERR_OUT_OF_MEMORY for allocations) with the runtime's message. The failed call's
 * error is ours: it is cleared from the runtime's last-error state so that it is not reported again against the
 * caller's next call.
 */
#define WMSS_CUDA_TRY(call, what)                                                                              \
    do {                                                                                                      \
        const cudaError_t e_ = (call);                                                                        \
        if (e_ != cudaSuccess) {                                                                              \
            (void)cudaGetLastError();                                                                         \
            return wmss_fail(e_ == cudaErrorMemoryAllocation ? WMSS_ERR_OUT_OF_MEMORY : WMSS_ERR_CUDA,        \
                             "%s: %s (%s)", what, cudaGetErrorString(e_), cudaGetErrorName(e_));              \
        }                                                                                                     \
    } while (0)

/** wmss_check_ce_mix_args plus: every pointer is device (or managed) memory, status too when given. */
int wmss_cuda_check_args(const wmss_ce_mix_args *a, const int64_t *status, const char *fn, int allow_no_labels);
