// model_step: one SFT training step of a ~10M-parameter decoder driven from C++ through the same C ABI the Java
// binding uses (forward, fused ce_mix in place, backward, AdamW). benchmarks/run-model.sh compares it with
// ModelStepBenchmark (JMH) to measure the Java orchestration overhead.
// Usage: model_step [steps] [config.json] [batch] [seq]   (defaults: 30 benchmarks/model/model-10m.json 8 128)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <fstream>
#include <sstream>
#include <string>
#include "wmss.h"
#include "wmss_torch.h"

#define CHECK(x)                                                                                       \
    do {                                                                                               \
        if (int st_ = (x)) {                                                                           \
            std::fprintf(stderr, "%s failed (%d): %s %s\n", #x, st_, wmss_last_error(), wmss_torch_last_error()); \
            return 1;                                                                                  \
        }                                                                                              \
    } while (0)

int main(int argc, char **argv) {
    const int steps = argc > 1 ? std::atoi(argv[1]) : 30;
    const char *config_path = argc > 2 ? argv[2] : "benchmarks/model/model-10m.json";
    const int64_t batch = argc > 3 ? std::atoll(argv[3]) : 8, seq = argc > 4 ? std::atoll(argv[4]) : 128;
    std::ifstream in(config_path);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", config_path);
        return 1;
    }
    std::stringstream config;
    config << in.rdbuf();
    wmss_torch_model *m = nullptr;
    CHECK(wmss_torch_model_init(config.str().c_str(), 1, &m));
    CHECK(wmss_torch_model_adamw(m, 1e-4, 0.9, 0.95, 1e-8, 0.1));
    int64_t vocab = 0, params = 0;
    CHECK(wmss_torch_model_info(m, &vocab, &params));
    const int64_t n = batch * seq;
    std::vector<int64_t> ids(n), labels(n);
    for (int64_t i = 0; i < n; i++) ids[i] = (i * 7919) % vocab, labels[i] = (i * 104729 + 1) % vocab;
    std::vector<float> loss(n);
    std::vector<double> ms;
    for (int s = 0; s < steps + 3; s++) {
        const auto t0 = std::chrono::steady_clock::now();
        float *z = nullptr;
        CHECK(wmss_torch_model_forward(m, ids.data(), nullptr, batch, seq, 1, &z));
        wmss_ce_mix_args a = wmss_ce_mix_args_default(); // SFT: lambda = 1, in place
        a.dtype = WMSS_DTYPE_F32;
        a.rows = n;
        a.vocab = vocab;
        a.z_strong = a.z_weak = z;
        a.ld_strong = a.ld_weak = a.ld_grad_strong = vocab;
        a.labels = labels.data();
        a.lambda = 1.0f;
        a.inv_norm = 1.0f / n;
        a.loss = loss.data();
        a.grad_strong = z;
        CHECK(wmss_ce_mix(&a));
        CHECK(wmss_torch_model_backward(m, z));
        double norm = 0;
        CHECK(wmss_torch_model_step(m, 1e-4, 1.0, &norm));
        const double t = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (s >= 3) ms.push_back(t);
    }
    std::sort(ms.begin(), ms.end());
    const double med = ms[ms.size() / 2];
    std::printf("c++ step: %lld params, %lld tokens, median %.2f ms (%.0f tok/s), min %.2f, max %.2f\n",
                (long long)params, (long long)n, med, n / med * 1e3, ms.front(), ms.back());
    CHECK(wmss_torch_model_free(m));
    return 0;
}
