// Devices of libwmss_torch: parsing "cpu" / "cuda[:N]" against what this libtorch and machine have, and the few
// device services the layer needs. What needs CUDA's headers lives in cuda_stats.cpp, built only against a CUDA
// libtorch (cuda_stats_none.cpp otherwise), behind the wmss::cuda functions below.
#pragma once
#include <torch/torch.h>

#include <string>

namespace wmss {

/** "cpu", "cuda" (device 0) or "cuda:N", checked: a CPU libtorch, no device, or N out of range each say so. */
torch::Device parse_device(const std::string &spec);

/** Waits for the device's queued work (nothing to do on the CPU). */
void device_synchronize(const torch::Device &d);
/**
 * Memory of a device in bytes: {in use now, peak in use since the last reset, held by the caching allocator, total};
 * on the CPU: {resident now, peak resident (VmHWM), free blocks cached by libwmss_torch's allocator, physical memory}.
 */
void device_memory(const torch::Device &d, int64_t out4[4]);
/** Starts a new peak (the CPU's VmHWM cannot be reset: its peak stays the process's). */
void device_reset_peak(const torch::Device &d);

namespace cuda { // cuda_stats.cpp or cuda_stats_none.cpp
bool built();
int device_count();
void synchronize(int index);
void memory(int index, int64_t out4[4]);
void reset_peak(int index);
}  // namespace cuda

}  // namespace wmss
