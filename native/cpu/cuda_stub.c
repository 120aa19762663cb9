/* Linked instead of native/cuda/ when the library is built without nvcc. */
#include "internal.h"

int wmss_cuda_device_count(int *count) {
    if (count) *count = 0;
    return wmss_fail(WMSS_ERR_UNSUPPORTED, "this libwmss was built without CUDA (nvcc not found at build time)");
}
