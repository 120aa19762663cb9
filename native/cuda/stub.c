/* Linked instead of ce_mix.cu / runtime.cu when the library is built without nvcc: every CUDA entry point says so. */
#include "../common/internal.h"

const char *wmss_cuda_build_info(void) { return "not built"; }

#define NO_CUDA(fn) wmss_fail(WMSS_ERR_UNSUPPORTED, "%s: this libwmss is the CPU flavour, built without CUDA (the CUDA kernels are in the cuda flavour: wmss-natives classifier linux-x86_64-cuda)", fn)

int wmss_cuda_device_count(int *count) {
    if (count) *count = 0;
    return NO_CUDA("wmss_cuda_device_count");
}
int wmss_cuda_device_name(char *buf, int len) {
    if (buf && len > 0) buf[0] = '\0';
    return NO_CUDA("wmss_cuda_device_name");
}
int wmss_cuda_pointer_kind(const void *ptr, int *kind) {
    (void)ptr;
    if (!kind) return wmss_fail(WMSS_ERR_NULL_POINTER, "wmss_cuda_pointer_kind: kind is NULL");
    *kind = WMSS_MEMORY_HOST; /* without CUDA nothing is device memory */
    return WMSS_OK;
}
int wmss_cuda_malloc(void **ptr, int64_t bytes) {
    (void)bytes;
    if (ptr) *ptr = NULL;
    return NO_CUDA("wmss_cuda_malloc");
}
int wmss_cuda_free(void *ptr) { return ptr ? NO_CUDA("wmss_cuda_free") : WMSS_OK; }
int wmss_cuda_memcpy(void *dst, const void *src, int64_t bytes) {
    (void)dst, (void)src, (void)bytes;
    return NO_CUDA("wmss_cuda_memcpy");
}
int wmss_cuda_memset(void *dst, int value, int64_t bytes) {
    (void)dst, (void)value, (void)bytes;
    return NO_CUDA("wmss_cuda_memset");
}
int wmss_cuda_synchronize(void *stream) {
    (void)stream;
    return NO_CUDA("wmss_cuda_synchronize");
}
int wmss_cuda_status_reset(int64_t *status, void *stream) {
    (void)status, (void)stream;
    return NO_CUDA("wmss_cuda_status_reset");
}
int wmss_cuda_ce_mix(const wmss_ce_mix_args *args, int64_t *status, void *stream) {
    (void)args, (void)status, (void)stream;
    return NO_CUDA("wmss_cuda_ce_mix");
}
int wmss_cuda_ce_mix_unfused(const wmss_ce_mix_args *args, int64_t *status, void *stream, float *workspace,
                             int64_t workspace_floats) {
    (void)args, (void)status, (void)stream, (void)workspace, (void)workspace_floats;
    return NO_CUDA("wmss_cuda_ce_mix_unfused");
}
int wmss_cuda_entropy(const wmss_entropy_args *args, int64_t *status, void *stream) {
    (void)args, (void)status, (void)stream;
    return NO_CUDA("wmss_cuda_entropy");
}
