// The CUDA side of device.h, built only against a CUDA libtorch (cuda_stats_none.cpp otherwise): how many devices,
// synchronisation, and the caching allocator's statistics.
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>

#include "device.h"
#include "error.h"

namespace wmss::cuda {

bool built() { return true; }

int device_count() { return (int)c10::cuda::device_count(); }

void synchronize(int index) {
    c10::cuda::CUDAGuard guard((c10::DeviceIndex)index);
    c10::cuda::device_synchronize();
}

void memory(int index, int64_t out4[4]) {
    using c10::CachingAllocator::StatType;
    const auto s = c10::cuda::CUDACachingAllocator::getDeviceStats((c10::DeviceIndex)index);
    const size_t all = static_cast<size_t>(StatType::AGGREGATE);
    c10::cuda::CUDAGuard guard((c10::DeviceIndex)index);
    size_t free_bytes = 0, total_bytes = 0;
    if (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess) {
        (void)cudaGetLastError();
        total_bytes = 0;
    }
    out4[0] = s.allocated_bytes[all].current;
    out4[1] = s.allocated_bytes[all].peak;
    out4[2] = s.reserved_bytes[all].current;
    out4[3] = (int64_t)total_bytes;
}

void reset_peak(int index) { c10::cuda::CUDACachingAllocator::resetPeakStats((c10::DeviceIndex)index); }

}  // namespace wmss::cuda
