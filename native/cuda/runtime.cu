// CUDA runtime glue of wmss.h: device probe, device memory for callers without their own allocator (Java tests,
// benchmarks), and the pointer checks of the launchers. Runtime error codes become wmss statuses; nothing aborts.
#include <dlfcn.h>

#include <cstdio>

#include "cuda_common.h"

namespace {

int check_device_pointer(const void *p, const char *name, const char *fn) {
    if (!p) return WMSS_OK;
    cudaPointerAttributes attr;
    const cudaError_t e = cudaPointerGetAttributes(&attr, p);
    if (e != cudaSuccess) {
        cudaGetLastError(); // clear the non-sticky error
        return wmss_fail(WMSS_ERR_ARGUMENT, "%s: %s (%p) is not CUDA memory: %s", fn, name, p, cudaGetErrorString(e));
    }
    if (attr.type != cudaMemoryTypeDevice && attr.type != cudaMemoryTypeManaged)
        return wmss_fail(WMSS_ERR_ARGUMENT, "%s: %s (%p) is host memory; the CUDA kernels need device or managed memory",
                         fn, name, p);
    return WMSS_OK;
}

/**
 * Why the runtime said "CUDA driver version is insufficient": the static runtime says so too when there is no NVIDIA
 * driver at all (no libcuda.so.1 to load), which on a machine without a GPU misleads. Tells the two apart.
 */
const char *insufficient_driver_reason() {
    void *driver = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL);
    if (!driver) return "no NVIDIA driver (libcuda.so.1 cannot be loaded)";
    dlclose(driver);
    return "the NVIDIA driver is older than this build's CUDA runtime needs (CUDA driver version is insufficient)";
}

}  // namespace

#ifndef WMSS_CUDA_INFO
#define WMSS_CUDA_INFO "cuda"
#endif
const char *wmss_cuda_build_info(void) { return WMSS_CUDA_INFO; }

int wmss_cuda_check_args(const wmss_ce_mix_args *a, const int64_t *status, const char *fn, int allow_no_labels) {
    int st;
    if ((st = wmss_check_ce_mix_args(a, fn, WMSS_LABELS_ON_DEVICE, allow_no_labels))) return st;
    if (a->rows > (INT64_C(1) << 28))
        return wmss_fail(WMSS_ERR_SHAPE, "%s: rows = %lld exceeds 2^28 per launch", fn, (long long)a->rows);
    const void *ptrs[] = {a->z_strong, a->z_weak, a->labels, a->loss, a->grad_strong, a->grad_weak, a->lse, a->entropy, status};
    const char *names[] = {"z_strong", "z_weak", "labels", "loss", "grad_strong", "grad_weak", "lse", "entropy", "status"};
    for (int i = 0; i < 9; i++)
        if ((st = check_device_pointer(ptrs[i], names[i], fn))) return st;
    if (status && (uintptr_t)status % 8) return wmss_fail(WMSS_ERR_ALIGNMENT, "%s: status is not 8-byte aligned", fn);
    return WMSS_OK;
}

extern "C" {

int wmss_cuda_device_count(int *count) {
    if (!count) return wmss_fail(WMSS_ERR_NULL_POINTER, "wmss_cuda_device_count: count is NULL");
    *count = 0;
    int n = 0;
    const cudaError_t e = cudaGetDeviceCount(&n);
    if (e == cudaSuccess && n > 0) {
        *count = n;
        return WMSS_OK;
    }
    cudaGetLastError();
    if (e == cudaSuccess || e == cudaErrorNoDevice || e == cudaErrorInsufficientDriver ||
        e == cudaErrorInitializationError || e == cudaErrorNotPermitted || e == cudaErrorNotSupported ||
        e == cudaErrorSystemDriverMismatch || e == cudaErrorCompatNotSupportedOnDevice)
        return wmss_fail(WMSS_ERR_NO_DEVICE, "no CUDA device: %s",
                         e == cudaSuccess                   ? "the driver reports 0 devices"
                         : e == cudaErrorInsufficientDriver ? insufficient_driver_reason()
                                                            : cudaGetErrorString(e));
    return wmss_fail(WMSS_ERR_CUDA, "CUDA probe failed: %s (%s)", cudaGetErrorString(e), cudaGetErrorName(e));
}

int wmss_cuda_device_name(char *buf, int len) {
    if (!buf || len < 1) return wmss_fail(WMSS_ERR_NULL_POINTER, "wmss_cuda_device_name: no buffer");
    int dev = 0;
    cudaDeviceProp prop;
    WMSS_CUDA_TRY(cudaGetDevice(&dev), "cudaGetDevice");
    WMSS_CUDA_TRY(cudaGetDeviceProperties(&prop, dev), "cudaGetDeviceProperties");
    snprintf(buf, (size_t)len, "%s (sm_%d%d, %d SMs, %.1f GiB)", prop.name, prop.major, prop.minor,
             prop.multiProcessorCount, prop.totalGlobalMem / 1073741824.0);
    return WMSS_OK;
}

int wmss_cuda_pointer_kind(const void *ptr, int *kind) {
    if (!kind) return wmss_fail(WMSS_ERR_NULL_POINTER, "wmss_cuda_pointer_kind: kind is NULL");
    *kind = WMSS_MEMORY_HOST;
    if (!ptr) return WMSS_OK;
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) { // no driver or device: nothing is device memory
        (void)cudaGetLastError();
        return WMSS_OK;
    }
    cudaPointerAttributes attr;
    const cudaError_t e = cudaPointerGetAttributes(&attr, ptr);
    if (e != cudaSuccess) { // CUDA < 11 reported unregistered host memory as an error
        (void)cudaGetLastError();
        return WMSS_OK;
    }
    *kind = attr.type == cudaMemoryTypeDevice ? WMSS_MEMORY_DEVICE
            : attr.type == cudaMemoryTypeManaged ? WMSS_MEMORY_MANAGED
                                                 : WMSS_MEMORY_HOST;
    return WMSS_OK;
}

int wmss_cuda_malloc(void **ptr, int64_t bytes) {
    if (!ptr) return wmss_fail(WMSS_ERR_NULL_POINTER, "wmss_cuda_malloc: ptr is NULL");
    *ptr = nullptr;
    if (bytes < 0) return wmss_fail(WMSS_ERR_SHAPE, "wmss_cuda_malloc: bytes = %lld", (long long)bytes);
    WMSS_CUDA_TRY(cudaMalloc(ptr, (size_t)(bytes > 0 ? bytes : 1)), "cudaMalloc");
    return WMSS_OK;
}

int wmss_cuda_free(void *ptr) {
    if (ptr) WMSS_CUDA_TRY(cudaFree(ptr), "cudaFree");
    return WMSS_OK;
}

int wmss_cuda_memcpy(void *dst, const void *src, int64_t bytes) {
    if (bytes < 0) return wmss_fail(WMSS_ERR_SHAPE, "wmss_cuda_memcpy: bytes = %lld", (long long)bytes);
    if (bytes == 0) return WMSS_OK;
    if (!dst || !src) return wmss_fail(WMSS_ERR_NULL_POINTER, "wmss_cuda_memcpy: %s is NULL", dst ? "src" : "dst");
    WMSS_CUDA_TRY(cudaMemcpy(dst, src, (size_t)bytes, cudaMemcpyDefault), "cudaMemcpy");
    return WMSS_OK;
}

int wmss_cuda_memset(void *dst, int value, int64_t bytes) {
    if (bytes < 0 || !dst) return wmss_fail(WMSS_ERR_ARGUMENT, "wmss_cuda_memset: bad destination or size");
    WMSS_CUDA_TRY(cudaMemset(dst, value, (size_t)bytes), "cudaMemset");
    return WMSS_OK;
}

int wmss_cuda_synchronize(void *stream) {
    WMSS_CUDA_TRY(stream ? cudaStreamSynchronize(static_cast<cudaStream_t>(stream)) : cudaDeviceSynchronize(),
                  "synchronize");
    return WMSS_OK;
}

}  // extern "C"
