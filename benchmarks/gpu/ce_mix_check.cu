// ce_mix_check: validate-then-time harness for the CUDA ce_mix kernels (llm.c dev/cuda style).
//   1. correctness: CUDA fused and unfused vs the CPU fused kernel (itself tested against float64 and libtorch)
//      on odd shapes, fp32 and bf16, outputs poisoned with NaN first;
//   2. timing with CUDA events (median of --reps): fused, unfused, and the device's copy bandwidth (cudaMemcpy
//      device-to-device) as the roofline. Minimal traffic: read both logit matrices, write grad_strong
//      (12 B/element fp32, 6 bf16); with grad_weak too, 16 / 8.
// Prints a Markdown section for benchmarks/RESULTS.md. Usage: ce_mix_check [rows vocab reps]
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "wmss.h"

#define CHECK(x)                                                                                  \
    do {                                                                                          \
        int st_ = (x);                                                                            \
        if (st_) {                                                                                \
            std::fprintf(stderr, "%s:%d: %s failed: %d %s\n", __FILE__, __LINE__, #x, st_, wmss_last_error()); \
            std::exit(1);                                                                         \
        }                                                                                         \
    } while (0)

namespace {

uint16_t to_bf16(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    b += 0x7FFFu + ((b >> 16) & 1u);
    return (uint16_t)(b >> 16);
}
float from_bf16(uint16_t h) {
    uint32_t b = (uint32_t)h << 16;
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}

struct Host {
    int dtype;
    int64_t rows, vocab;
    size_t es, bytes;
    std::vector<uint8_t> zs, zw, gs, gw;
    std::vector<int64_t> labels;
    std::vector<float> loss, lse, ent;
    float lambda = 0.5f, inv_norm;
    Host(int dtype, int64_t rows, int64_t vocab, float lambda, unsigned seed)
        : dtype(dtype), rows(rows), vocab(vocab), es(dtype ? 2 : 4), bytes(rows * vocab * (dtype ? 2 : 4)),
          zs(bytes), zw(bytes), gs(bytes), gw(bytes), labels(rows), loss(rows), lse(rows), ent(rows), lambda(lambda) {
        std::mt19937 rng(seed);
        std::normal_distribution<float> n(0.0f, 3.0f);
        int64_t supervised = 0;
        for (int64_t i = 0; i < rows * vocab; i++) {
            set(zs, i, n(rng));
            set(zw, i, n(rng) + 0.5f);
        }
        for (int64_t r = 0; r < rows; r++) {
            labels[r] = r % 5 == 3 ? WMSS_IGNORE_INDEX : (int64_t)(rng() % vocab);
            supervised += labels[r] >= 0;
        }
        inv_norm = 1.0f / (float)std::max<int64_t>(1, supervised);
    }
    void set(std::vector<uint8_t> &v, int64_t i, float x) {
        if (dtype) {
            uint16_t h = to_bf16(x);
            std::memcpy(&v[i * 2], &h, 2);
        } else {
            std::memcpy(&v[i * 4], &x, 4);
        }
    }
    float get(const std::vector<uint8_t> &v, int64_t i) const {
        if (dtype) {
            uint16_t h;
            std::memcpy(&h, &v[i * 2], 2);
            return from_bf16(h);
        }
        float x;
        std::memcpy(&x, &v[i * 4], 4);
        return x;
    }
};

void *dev_copy(const void *h, size_t n) {
    void *d;
    CHECK(wmss_cuda_malloc(&d, (int64_t)n));
    CHECK(wmss_cuda_memcpy(d, h, (int64_t)n));
    return d;
}

/** A descriptor for [rows, vocab] contiguous logits; the optional outputs are set by the caller. */
wmss_ce_mix_args make_args(int dtype, int64_t rows, int64_t vocab, const void *zs, const void *zw, const void *labels,
                           float lambda, float inv_norm, void *loss, void *gs, void *gw) {
    wmss_ce_mix_args a = wmss_ce_mix_args_default();
    a.dtype = dtype;
    a.rows = rows;
    a.vocab = vocab;
    a.z_strong = zs;
    a.z_weak = zw;
    a.ld_strong = a.ld_weak = a.ld_grad_strong = a.ld_grad_weak = vocab;
    a.labels = (const int64_t *)labels;
    a.lambda = lambda;
    a.inv_norm = inv_norm;
    a.loss = (float *)loss;
    a.grad_strong = gs;
    a.grad_weak = gw;
    return a;
}

/** Runs the CUDA op (fused or unfused) and returns the outputs in a Host copy. */
Host run_cuda(const Host &in, bool fused) {
    Host out = in;
    void *zs = dev_copy(in.zs.data(), in.bytes), *zw = dev_copy(in.zw.data(), in.bytes);
    void *labels = dev_copy(in.labels.data(), in.rows * 8), *gs, *gw, *loss, *lse, *ent, *status, *ws = nullptr;
    CHECK(wmss_cuda_malloc(&gs, (int64_t)in.bytes));
    CHECK(wmss_cuda_malloc(&gw, (int64_t)in.bytes));
    CHECK(wmss_cuda_malloc(&loss, in.rows * 4));
    CHECK(wmss_cuda_malloc(&lse, in.rows * 4));
    CHECK(wmss_cuda_malloc(&ent, in.rows * 4));
    CHECK(wmss_cuda_malloc(&status, 16));
    for (void *p : {gs, gw}) CHECK(wmss_cuda_memset(p, 0xFF, (int64_t)in.bytes)); // NaN poison
    for (void *p : {loss, lse, ent}) CHECK(wmss_cuda_memset(p, 0xFF, in.rows * 4));
    CHECK(wmss_cuda_status_reset((int64_t *)status, nullptr));
    wmss_ce_mix_args a = make_args(in.dtype, in.rows, in.vocab, zs, zw, labels, in.lambda, in.inv_norm, loss, gs, gw);
    a.lse = (float *)lse;
    a.entropy = (float *)ent;
    if (fused) {
        CHECK(wmss_cuda_ce_mix(&a, (int64_t *)status, nullptr));
    } else {
        CHECK(wmss_cuda_malloc(&ws, 8 * in.rows * in.vocab));
        CHECK(wmss_cuda_ce_mix_unfused(&a, (int64_t *)status, nullptr, (float *)ws, 2 * in.rows * in.vocab));
    }
    CHECK(wmss_cuda_synchronize(nullptr));
    CHECK(wmss_cuda_memcpy(out.gs.data(), gs, (int64_t)in.bytes));
    CHECK(wmss_cuda_memcpy(out.gw.data(), gw, (int64_t)in.bytes));
    CHECK(wmss_cuda_memcpy(out.loss.data(), loss, in.rows * 4));
    CHECK(wmss_cuda_memcpy(out.lse.data(), lse, in.rows * 4));
    CHECK(wmss_cuda_memcpy(out.ent.data(), ent, in.rows * 4));
    for (void *p : {zs, zw, labels, gs, gw, loss, lse, ent, status, ws}) CHECK(wmss_cuda_free(p));
    return out;
}

Host run_cpu(const Host &in) {
    Host out = in;
    wmss_ce_mix_args a = make_args(in.dtype, in.rows, in.vocab, in.zs.data(), in.zw.data(), in.labels.data(),
                                   in.lambda, in.inv_norm, out.loss.data(), out.gs.data(), out.gw.data());
    a.lse = out.lse.data();
    a.entropy = out.ent.data();
    CHECK(wmss_ce_mix(&a));
    return out;
}

/** Largest violation ratio |a - b| / tol (<= 1 passes); tolerances as the Java tests. */
double compare(const Host &ref, const Host &got) {
    double worst = 0;
    const double k = std::max(ref.lambda, 1 - ref.lambda) * ref.inv_norm, rel = ref.dtype ? 8e-3 : 2e-5;
    for (int64_t i = 0; i < ref.rows * ref.vocab; i++) {
        for (int w = 0; w < 2; w++) {
            const double a = ref.get(w ? ref.gw : ref.gs, i), b = got.get(w ? got.gw : got.gs, i);
            const double tol = 2e-6 * k + rel * std::fabs(a);
            worst = std::max(worst, std::isnan(b) ? 1e9 : std::fabs(a - b) / tol);
        }
    }
    for (int64_t r = 0; r < ref.rows; r++) {
        for (auto [a, b] : {std::pair{ref.loss[r], got.loss[r]}, {ref.lse[r], got.lse[r]}, {ref.ent[r], got.ent[r]}}) {
            const double tol = 2e-5 * (1 + std::fabs(a)) + 1e-5;
            worst = std::max(worst, std::isnan(b) ? 1e9 : std::fabs(a - b) / tol);
        }
    }
    return worst;
}

double median(std::vector<float> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

template <class F>
double time_ms(F &&launch, int reps) {
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    launch(); // warm-up
    std::vector<float> ms;
    for (int i = 0; i < reps; i++) {
        cudaEventRecord(a);
        launch();
        cudaEventRecord(b);
        cudaEventSynchronize(b);
        float t;
        cudaEventElapsedTime(&t, a, b);
        ms.push_back(t);
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return median(ms);
}

}  // namespace

int main(int argc, char **argv) {
    const int64_t rows = argc > 1 ? std::atoll(argv[1]) : 8192, vocab = argc > 2 ? std::atoll(argv[2]) : 128256;
    const int reps = argc > 3 ? std::atoi(argv[3]) : 20;
    int count = 0;
    if (wmss_cuda_device_count(&count)) {
        std::printf("%s\n", wmss_last_error());
        return 2;
    }
    char name[256];
    CHECK(wmss_cuda_device_name(name, sizeof name));
    std::printf("### CUDA ce_mix on %s\n%s\n\n", name, wmss_build_info());

    // 1. correctness
    int failures = 0;
    const int64_t shapes[][2] = {{9, 1}, {13, 7}, {37, 1000}, {300, 1003}, {6, 32003}, {3, 151936}, {64, 128256}};
    std::printf("| check | dtype | rows x vocab | lambda | fused | unfused |\n|---|---|---|---|---|---|\n");
    for (int dtype = 0; dtype < 2; dtype++)
        for (auto &s : shapes)
            for (float lambda : {0.0f, 0.5f, 1.0f}) {
                const Host in(dtype, s[0], s[1], lambda, (unsigned)(s[0] * 7 + s[1]));
                const Host ref = run_cpu(in);
                const double f = compare(ref, run_cuda(in, true)), u = compare(ref, run_cuda(in, false));
                failures += f > 1 || u > 1;
                std::printf("| vs cpu | %s | %lldx%lld | %.1f | %s (%.2f) | %s (%.2f) |\n", dtype ? "bf16" : "f32",
                            (long long)s[0], (long long)s[1], lambda, f <= 1 ? "ok" : "FAIL", f, u <= 1 ? "ok" : "FAIL", u);
            }

    // 2. timing
    std::printf("\n| op | dtype | rows x vocab | median ms | GB/s (minimal traffic) | %% of copy | vs unfused |\n"
                "|---|---|---|---:|---:|---:|---:|\n");
    const size_t copy_bytes = (size_t)1 << 31;
    void *ca, *cb;
    CHECK(wmss_cuda_malloc(&ca, (int64_t)copy_bytes));
    CHECK(wmss_cuda_malloc(&cb, (int64_t)copy_bytes));
    const double copy_ms = time_ms([&] { cudaMemcpyAsync(cb, ca, copy_bytes, cudaMemcpyDeviceToDevice); }, reps);
    const double copy_gbs = 2.0 * copy_bytes / (copy_ms * 1e6);
    std::printf("| copy (cudaMemcpy D2D, read+write) | - | 2 GiB | %.3f | %.0f | 100%% | - |\n", copy_ms, copy_gbs);
    CHECK(wmss_cuda_free(ca));
    CHECK(wmss_cuda_free(cb));
    for (int dtype = 0; dtype < 2; dtype++) {
        const size_t es = dtype ? 2 : 4, n = (size_t)rows * vocab;
        void *zs, *zw, *gs, *gw, *labels, *loss, *ws;
        for (void **p : {&zs, &zw, &gs, &gw}) CHECK(wmss_cuda_malloc(p, (int64_t)(n * es)));
        CHECK(wmss_cuda_malloc(&ws, (int64_t)(8 * n)));
        CHECK(wmss_cuda_malloc(&loss, rows * 4));
        std::vector<int64_t> hl(rows);
        for (int64_t r = 0; r < rows; r++) hl[r] = (r * 7919) % vocab;
        labels = dev_copy(hl.data(), rows * 8);
        for (void *p : {zs, zw}) CHECK(wmss_cuda_memset(p, 0x3C, (int64_t)(n * es))); // finite logits
        for (int both = 0; both < 2; both++) {
            void *gweak = both ? gw : nullptr;
            const wmss_ce_mix_args a = make_args(dtype, rows, vocab, zs, zw, labels, 0.5f, 1e-4f, loss, gs, gweak);
            // every launch's status is checked: a failed launch must not look fast
            auto fused = [&] { CHECK(wmss_cuda_ce_mix(&a, nullptr, nullptr)); };
            auto unfused = [&] { CHECK(wmss_cuda_ce_mix_unfused(&a, nullptr, nullptr, (float *)ws, 2 * (int64_t)n)); };
            const double tf = time_ms(fused, reps), tu = time_ms(unfused, reps);
            const double traffic = (double)n * es * (both ? 4 : 3);
            for (auto [label, t] : {std::pair{"fused", tf}, {"unfused", tu}})
                std::printf("| %s%s | %s | %lldx%lld | %.3f | %.0f | %.0f%% | %.2fx |\n", label,
                            both ? " (+grad_weak)" : "", dtype ? "bf16" : "f32", (long long)rows, (long long)vocab, t,
                            traffic / (t * 1e6), 100 * traffic / (t * 1e6) / copy_gbs, tu / t);
        }
        for (void *p : {zs, zw, gs, gw, labels, loss, ws}) CHECK(wmss_cuda_free(p));
    }
    std::printf("\n%s\n", failures ? "CORRECTNESS: FAIL" : "CORRECTNESS: all checks passed");
    return failures ? 1 : 0;
}
