#include "threads.h"

#include <ATen/Parallel.h>

#include <sched.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <strings.h>
#include <thread>

#include "error.h"
#include "wmss_torch.h"

namespace {

std::atomic<int> thread_setting{0}; // 0: the policy's default

int cores() {
    static const int n = [] {
        const char *env = std::getenv("OMP_NUM_THREADS");
        const int v = env ? std::atoi(env) : 0;
        // the CPUs this process may run on (a container or taskset restricts them), as libwmss's OpenMP counts
        cpu_set_t set;
        const int hw = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : (int)std::thread::hardware_concurrency();
        return v > 0 ? v : hw > 0 ? hw : 1;
    }();
    return n;
}

}  // namespace

bool wmss::passive_wait() {
    static const bool passive = [] {
        const char *policy = std::getenv("OMP_WAIT_POLICY"), *spin = std::getenv("GOMP_SPINCOUNT");
        if (policy && strcasecmp(policy, "passive") == 0) return true;
        if (spin && *spin) {
            char *end = nullptr;
            const double v = std::strtod(spin, &end);
            if (end != spin && v <= 10000) return true;
        }
        return false;
    }();
    return passive;
}

int wmss::intra_op_threads() {
    const int set = thread_setting.load();
    return set > 0 ? set : passive_wait() ? cores() : 1;
}

void wmss::use_all_cores() {
    const int n = intra_op_threads();
    if (at::get_num_threads() != n) at::set_num_threads(n);
}

extern "C" int wmss_torch_set_num_threads(int n) {
    return wmss::torch_guard("wmss_torch_set_num_threads", [&] {
        if (n < 0) throw wmss::Error{WMSS_ERR_ARGUMENT, "n = " + std::to_string(n) + " must be >= 0 (0: the default policy)"};
        thread_setting = n;
    });
}

extern "C" int wmss_torch_num_threads(int *n, int *passive) {
    return wmss::torch_guard("wmss_torch_num_threads", [&] {
        if (n) *n = wmss::intra_op_threads();
        if (passive) *passive = wmss::passive_wait() ? 1 : 0;
    });
}
