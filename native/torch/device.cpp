// Devices (device.h) and the C functions that describe them (wmss_torch.h, "devices").
#include "device.h"

#include <torch/version.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "allocator.h"
#include "compat.h"
#include "error.h"
#include "wmss_torch.h"

namespace {

using wmss::Error;

/** A "VmRSS:" / "VmHWM:" line of /proc/self/status in bytes, or -1. */
int64_t proc_status_bytes(const char *key) {
    std::ifstream in("/proc/self/status");
    std::string k;
    int64_t kb;
    std::string unit;
    while (in >> k) {
        if (k == key && in >> kb) return kb * 1024;
        std::getline(in, unit);
    }
    return -1;
}

}  // namespace

torch::Device wmss::parse_device(const std::string &spec) {
    if (spec == "cpu") return torch::kCPU;
    int index = 0;
    if (spec == "cuda") {
        index = 0;
    } else if (spec.rfind("cuda:", 0) == 0 && spec.size() > 5 && spec.size() <= 8 &&
               spec.find_first_not_of("0123456789", 5) == std::string::npos) {
        index = std::stoi(spec.substr(5));
    } else {
        throw Error{WMSS_ERR_ARGUMENT, "device \"" + spec + "\": expected cpu, cuda or cuda:N"};
    }
    if (!cuda::built())
        throw Error{WMSS_ERR_NO_DEVICE, "device " + spec + ": this libwmss_torch is built against a CPU libtorch (" +
                                            std::string(TORCH_VERSION) +
                                            "); build the CUDA flavour on a GPU machine (scripts/build-cuda.sh)"};
    const int n = cuda::device_count();
    if (n == 0)
        throw Error{WMSS_ERR_NO_DEVICE, "device " + spec + ": no CUDA device is visible to this process (driver missing, "
                                            "no GPU, or CUDA_VISIBLE_DEVICES empty)"};
    if (index >= n)
        throw Error{WMSS_ERR_NO_DEVICE, "device " + spec + ": only " + std::to_string(n) + " CUDA device" +
                                            (n == 1 ? " is" : "s are") + " visible (cuda:0" +
                                            (n > 1 ? " to cuda:" + std::to_string(n - 1) : std::string()) + ")"};
    return torch::Device(torch::kCUDA, (c10::DeviceIndex)index);
}

void wmss::device_synchronize(const torch::Device &d) {
    if (d.is_cuda()) cuda::synchronize(d.has_index() ? d.index() : 0);
}

void wmss::device_memory(const torch::Device &d, int64_t out4[4]) {
    if (d.is_cuda()) return cuda::memory(d.has_index() ? d.index() : 0, out4);
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    out4[0] = proc_status_bytes("VmRSS:");
    out4[1] = proc_status_bytes("VmHWM:");
    out4[2] = (int64_t)cpu_cache_stats().cached_bytes;
    out4[3] = pages > 0 && page > 0 ? (int64_t)pages * page : -1;
}

void wmss::device_reset_peak(const torch::Device &d) {
    if (d.is_cuda()) cuda::reset_peak(d.has_index() ? d.index() : 0);
}

extern "C" {

const char *wmss_torch_build_info(void) {
    static const std::string info = [] {
        std::ostringstream s;
        s << "flavour=" << (wmss::cuda::built() ? "cuda" : "cpu") << "\nlibtorch=" << TORCH_VERSION
          << "\nfused_attention=" << (wmss::compat::kHasSdpa && wmss::cuda::built() ? "sdpa" : "none")
          << "\nfused_adamw=" << (wmss::compat::kHasFusedAdamW && wmss::cuda::built() ? "cuda" : "none") << "\ngloo="
#ifdef WMSS_HAVE_GLOO
          << "yes"
#else
          << "no"
#endif
          << "\nnccl="
#ifdef WMSS_HAVE_NCCL
          << "yes"
#else
          << "no"
#endif
          << "\n";
        return s.str();
    }();
    return info.c_str();
}

int wmss_torch_cuda_device_count(int *count) {
    return wmss::torch_guard("wmss_torch_cuda_device_count", [&] {
        if (!count) throw Error{WMSS_ERR_NULL_POINTER, "count is NULL"};
        *count = wmss::cuda::built() ? wmss::cuda::device_count() : 0;
    });
}

int wmss_torch_device_memory(const char *device, int reset_peak, int64_t *out4) {
    return wmss::torch_guard("wmss_torch_device_memory", [&] {
        if (!device || !out4) throw Error{WMSS_ERR_NULL_POINTER, "device and out4 are required"};
        const torch::Device d = wmss::parse_device(device);
        wmss::device_memory(d, out4);
        if (reset_peak) wmss::device_reset_peak(d);
    });
}

int wmss_torch_device_synchronize(const char *device) {
    return wmss::torch_guard("wmss_torch_device_synchronize", [&] {
        if (!device) throw Error{WMSS_ERR_NULL_POINTER, "device is NULL"};
        wmss::device_synchronize(wmss::parse_device(device));
    });
}

}  // extern "C"
