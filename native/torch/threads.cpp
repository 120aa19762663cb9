#include "threads.h"

#include <ATen/Parallel.h>

#include <sched.h>

#include <cstdlib>
#include <thread>

namespace {

int wanted_threads() {
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

void wmss::use_all_cores() {
    const int n = wanted_threads();
    if (at::get_num_threads() != n) at::set_num_threads(n);
}
