#include "threads.h"

#include <ATen/Parallel.h>

#include <cstdlib>
#include <thread>

namespace {

int wanted_threads() {
    static const int n = [] {
        const char *env = std::getenv("OMP_NUM_THREADS");
        const int v = env ? std::atoi(env) : 0;
        const int hw = (int)std::thread::hardware_concurrency();
        return v > 0 ? v : hw > 0 ? hw : 1;
    }();
    return n;
}

}  // namespace

void wmss::use_all_cores() {
    const int n = wanted_threads();
    if (at::get_num_threads() != n) at::set_num_threads(n);
}
