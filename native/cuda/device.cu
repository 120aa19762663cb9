// CUDA device probe: the runtime's own error codes become wmss statuses; nothing aborts without a GPU.
#include <cuda_runtime.h>

#include "../cpu/internal.h"

extern "C" WMSS_API int wmss_cuda_device_count(int *count) {
    if (!count) return wmss_fail(WMSS_ERR_NULL_POINTER, "wmss_cuda_device_count: count is NULL");
    *count = 0;
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaSuccess && n > 0) {
        *count = n;
        return WMSS_OK;
    }
    if (e == cudaSuccess || e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver ||
        e == cudaErrorInitializationError || e == cudaErrorNotPermitted || e == cudaErrorNotSupported ||
        e == cudaErrorSystemDriverMismatch || e == cudaErrorCompatNotSupportedOnDevice)
        return wmss_fail(WMSS_ERR_NO_DEVICE, "no CUDA device: %s",
                         e == cudaSuccess ? "the driver reports 0 devices" : cudaGetErrorString(e));
    return wmss_fail(WMSS_ERR_CUDA, "CUDA probe failed: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
}
