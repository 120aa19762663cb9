// ce_mix_check: validate-then-time harness for the CUDA ce_mix kernels (llm.c dev/cuda style), one variant of the
// fused kernel per process (wmss_cuda_set_variant), so that a variant that breaks the CUDA context cannot take the
// others down with it (benchmarks/gpu/kernels.sh runs one process per variant and stage):
//
//   wmss_gpu_check validate VARIANT [--tsv FILE]
//       VARIANT (auto, v1, v2, v3, v4, or "unfused" for the unfused baseline) against the CPU fused kernel (itself
//       tested against float64 and libtorch): odd shapes, fp32 and bf16, lambda 0 / 0.5 / 1, padded rows, in place
//       and out of place, the long rows 2x262144 and 4x300000, every output poisoned with NaN first; then NaN and
//       +inf logits in labelled and ignored rows: the status word must name the row the CPU kernel names, and the
//       outputs must equal the CPU kernel's (NaN for NaN).
//   wmss_gpu_check time VARIANT [--tsv FILE] [--reps N]
//       CUDA-event medians of VARIANT (loss and both gradients, out of place and in place) at 8192x128256,
//       4096x151936, 16384x32000, 2x262144 and 4x300000, fp32 and bf16, against a device-to-device copy of the op's
//       minimal bytes (read both logit matrices, write both gradients: 4 x rows x vocab x element size) in the same
//       process. Inputs are random (never constant), rotated over enough sets to exceed 4x the L2 cache; in place,
//       each set is restored after its timed call (outside the events).
//
// Every CUDA call and every launch is checked; the TSV lines (stage, variant, shape, dtype, mode, ms, copy ms,
// result) feed benchmarks/gpu/summary.py. Exit status 0 only when everything passed.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdarg>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "wmss_dev.h"

namespace {

int g_failures = 0;
FILE *g_tsv = nullptr;
std::string g_variant;

/** A failed wmss call or CUDA runtime call ends this process: the context may be unusable after it. */
#define CHECK(x)                                                                                              \
    do {                                                                                                      \
        const int st_ = (x);                                                                                  \
        if (st_) {                                                                                            \
            std::printf("FATAL %s:%d: %s -> %d: %s\n", __FILE__, __LINE__, #x, st_, wmss_last_error());      \
            std::fflush(stdout);                                                                              \
            std::exit(2);                                                                                     \
        }                                                                                                     \
    } while (0)
#define CUDA(x)                                                                                               \
    do {                                                                                                      \
        const cudaError_t e_ = (x);                                                                           \
        if (e_ != cudaSuccess) {                                                                              \
            std::printf("FATAL %s:%d: %s -> %s\n", __FILE__, __LINE__, #x, cudaGetErrorString(e_));          \
            std::fflush(stdout);                                                                              \
            std::exit(2);                                                                                     \
        }                                                                                                     \
    } while (0)

void tsv(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tsv(const char *fmt, ...) {
    if (!g_tsv) return;
    va_list ap;
    va_start(ap, fmt);
    std::vfprintf(g_tsv, fmt, ap);
    va_end(ap);
    std::fflush(g_tsv);
}

uint16_t to_bf16(float f) {
    uint32_t b;
    std::memcpy(&b, &f, 4);
    if (f != f) return (uint16_t)((b >> 16) | 0x40u);
    b += 0x7FFFu + ((b >> 16) & 1u);
    return (uint16_t)(b >> 16);
}
float from_bf16(uint16_t h) {
    uint32_t b = (uint32_t)h << 16;
    float f;
    std::memcpy(&f, &b, 4);
    return f;
}

// ---------------------------------------------------------------- host problems (validation)

struct Host {
    int dtype;
    int64_t rows, vocab, ld;
    size_t es, bytes;
    std::vector<uint8_t> zs, zw, gs, gw;
    std::vector<int64_t> labels;
    std::vector<float> loss, lse, ent;
    float lambda, inv_norm;
    bool stats = true;
    Host(int dtype, int64_t rows, int64_t vocab, int64_t pad, float lambda, unsigned seed)
        : dtype(dtype), rows(rows), vocab(vocab), ld(vocab + pad), es(dtype ? 2 : 4),
          bytes((size_t)(rows * (vocab + pad)) * (dtype ? 2 : 4)), zs(bytes), zw(bytes), gs(bytes), gw(bytes),
          labels(rows), loss(rows), lse(rows), ent(rows), lambda(lambda) {
        std::mt19937 rng(seed);
        std::normal_distribution<float> n(0.0f, 3.0f);
        int64_t supervised = 0;
        for (int64_t r = 0; r < rows; r++)
            for (int64_t v = 0; v < ld; v++) {
                set(zs, r, v, n(rng));
                set(zw, r, v, n(rng) + 0.5f);
            }
        for (int64_t r = 0; r < rows; r++) {
            labels[r] = r % 5 == 3 ? WMSS_IGNORE_INDEX : (int64_t)(rng() % vocab);
            supervised += labels[r] >= 0;
        }
        inv_norm = 1.0f / (float)std::max<int64_t>(1, supervised);
    }
    void set(std::vector<uint8_t> &m, int64_t r, int64_t v, float x) {
        const size_t i = (size_t)(r * ld + v);
        if (dtype) {
            const uint16_t h = to_bf16(x);
            std::memcpy(&m[i * 2], &h, 2);
        } else {
            std::memcpy(&m[i * 4], &x, 4);
        }
    }
    float get(const std::vector<uint8_t> &m, int64_t r, int64_t v) const {
        const size_t i = (size_t)(r * ld + v);
        if (dtype) {
            uint16_t h;
            std::memcpy(&h, &m[i * 2], 2);
            return from_bf16(h);
        }
        float x;
        std::memcpy(&x, &m[i * 4], 4);
        return x;
    }
};

wmss_ce_mix_args make_args(const Host &h, const void *zs, const void *zw, const void *labels, void *loss, void *gs,
                           void *gw, void *lse, void *ent) {
    wmss_ce_mix_args a = wmss_ce_mix_args_default();
    a.dtype = h.dtype;
    a.rows = h.rows;
    a.vocab = h.vocab;
    a.z_strong = zs;
    a.z_weak = zw;
    a.ld_strong = a.ld_weak = a.ld_grad_strong = a.ld_grad_weak = h.ld;
    a.labels = (const int64_t *)labels;
    a.lambda = h.lambda;
    a.inv_norm = h.inv_norm;
    a.loss = (float *)loss;
    a.grad_strong = gs;
    a.grad_weak = gw;
    a.lse = h.stats ? (float *)lse : nullptr;
    a.entropy = h.stats ? (float *)ent : nullptr;
    return a;
}

/** The CPU fused kernel's outputs (non-finite rows allowed) and the first row its status would name (-1: none). */
Host run_cpu(const Host &in, int64_t *first_bad) {
    Host out = in;
    for (auto *v : {&out.gs, &out.gw}) std::fill(v->begin(), v->end(), 0xFF);
    for (auto *v : {&out.loss, &out.lse, &out.ent}) std::fill(v->begin(), v->end(), NAN);
    wmss_ce_mix_args a = make_args(in, in.zs.data(), in.zw.data(), in.labels.data(), out.loss.data(), out.gs.data(),
                                   out.gw.data(), out.lse.data(), out.ent.data());
    a.flags = WMSS_FLAG_ALLOW_NONFINITE;
    CHECK(wmss_ce_mix(&a));
    *first_bad = -1;
    for (int64_t r = 0; r < in.rows && *first_bad < 0; r++) {
        const bool labelled = in.labels[r] != WMSS_IGNORE_INDEX;
        if ((labelled && !std::isfinite(out.loss[r])) || (!labelled && in.stats && !std::isfinite(out.lse[r])))
            *first_bad = r;
    }
    return out;
}

#ifdef WMSS_CHECK_EMULATE
/**
 * Test build of this harness for machines without a GPU (-DWMSS_CHECK_EMULATE): the "device" is the CUDA
 * algorithm's host emulation, so the validation logic (problems, expected status rows, comparison) runs anywhere.
 */
Host run_cuda(const Host &in, bool fused, bool in_place, int64_t *status_row) {
    (void)fused;
    Host out = in;
    for (auto *v : {&out.gs, &out.gw}) std::fill(v->begin(), v->end(), 0xFF);
    for (auto *v : {&out.loss, &out.lse, &out.ent}) std::fill(v->begin(), v->end(), NAN);
    if (in_place) out.gs = in.zs, out.gw = in.zw;
    const void *zs = in_place ? (const void *)out.gs.data() : in.zs.data();
    const void *zw = in_place ? (const void *)out.gw.data() : in.zw.data();
    wmss_ce_mix_args a = make_args(in, zs, zw, in.labels.data(), out.loss.data(), out.gs.data(), out.gw.data(),
                                   out.lse.data(), out.ent.data());
    Host probe = in; // the status: the first row the emulation names, from a run on a copy
    wmss_ce_mix_args b = make_args(in, in.zs.data(), in.zw.data(), in.labels.data(), probe.loss.data(), probe.gs.data(),
                                   probe.gw.data(), probe.lse.data(), probe.ent.data());
    const int st = wmss_cuda_host_ce_mix(&b, 0, 0, 0);
    *status_row = st == WMSS_ERR_NONFINITE ? std::atoll(std::strstr(wmss_last_error(), "row ") + 4) : st ? -3 : -1;
    a.flags = WMSS_FLAG_ALLOW_NONFINITE;
    CHECK(wmss_cuda_host_ce_mix(&a, 0, 0, 0));
    return out;
}
#else
/** The CUDA op (fused in the variant in force, or unfused) on a device copy; outputs and status word back. */
Host run_cuda(const Host &in, bool fused, bool in_place, int64_t *status_row) {
    Host out = in;
    void *zs, *zw, *labels, *gs, *gw, *loss, *lse, *ent, *status, *ws = nullptr;
    for (void **p : {&zs, &zw, &gs, &gw}) CHECK(wmss_cuda_malloc(p, (int64_t)in.bytes));
    for (void **p : {&loss, &lse, &ent}) CHECK(wmss_cuda_malloc(p, in.rows * 4));
    CHECK(wmss_cuda_malloc(&labels, in.rows * 8));
    CHECK(wmss_cuda_malloc(&status, 16));
    CHECK(wmss_cuda_memcpy(zs, in.zs.data(), (int64_t)in.bytes));
    CHECK(wmss_cuda_memcpy(zw, in.zw.data(), (int64_t)in.bytes));
    CHECK(wmss_cuda_memcpy(labels, in.labels.data(), in.rows * 8));
    for (void *p : {gs, gw}) CHECK(wmss_cuda_memset(p, 0xFF, (int64_t)in.bytes)); // NaN poison
    for (void *p : {loss, lse, ent}) CHECK(wmss_cuda_memset(p, 0xFF, in.rows * 4));
    CHECK(wmss_cuda_status_reset((int64_t *)status, nullptr));
    void *dgs = in_place ? zs : gs, *dgw = in_place ? zw : gw;
    const wmss_ce_mix_args a = make_args(in, zs, zw, labels, loss, dgs, dgw, lse, ent);
    if (fused) {
        CHECK(wmss_cuda_ce_mix(&a, (int64_t *)status, nullptr));
    } else {
        const int64_t n = in.rows * in.ld;
        CHECK(wmss_cuda_malloc(&ws, 8 * n));
        CHECK(wmss_cuda_ce_mix_unfused(&a, (int64_t *)status, nullptr, (float *)ws, 2 * n));
    }
    CUDA(cudaGetLastError());
    CHECK(wmss_cuda_synchronize(nullptr));
    int64_t words[2];
    CHECK(wmss_cuda_memcpy(words, status, 16));
    *status_row = words[0] == INT64_MAX ? -1 : words[0];
    if (words[1] != INT64_MAX) *status_row = -2 - words[1]; // a label report: never expected here
    CHECK(wmss_cuda_memcpy(out.gs.data(), dgs, (int64_t)in.bytes));
    CHECK(wmss_cuda_memcpy(out.gw.data(), dgw, (int64_t)in.bytes));
    CHECK(wmss_cuda_memcpy(out.loss.data(), loss, in.rows * 4));
    CHECK(wmss_cuda_memcpy(out.lse.data(), lse, in.rows * 4));
    CHECK(wmss_cuda_memcpy(out.ent.data(), ent, in.rows * 4));
    for (void *p : {zs, zw, labels, gs, gw, loss, lse, ent, status, ws}) CHECK(wmss_cuda_free(p));
    return out;
}
#endif

/** Largest violation |a - b| / tol (<= 1 passes; NaN must meet NaN), tolerances as the Java tests; -1 if unwritten. */
double compare(const Host &ref, const Host &got) {
    double worst = 0;
    const double k = std::max(ref.lambda, 1 - ref.lambda) * ref.inv_norm, rel = ref.dtype ? 8e-3 : 2e-5;
    auto one = [&](double a, double b, double tol) {
        if (std::isnan(a) || std::isnan(b)) {
            if (!(std::isnan(a) && std::isnan(b))) worst = std::max(worst, 1e9);
            return;
        }
        if (a == b) return; // equal infinities too
        worst = std::max(worst, std::fabs(a - b) / tol);
    };
    for (int64_t r = 0; r < ref.rows; r++)
        for (int64_t v = 0; v < ref.vocab; v++)
            for (int w = 0; w < 2; w++) {
                const double a = ref.get(w ? ref.gw : ref.gs, r, v), b = got.get(w ? got.gw : got.gs, r, v);
                one(a, b, 2e-6 * k + rel * std::fabs(a));
            }
    for (int64_t r = 0; r < ref.rows; r++) {
        one(ref.loss[r], got.loss[r], 2e-5 * (1 + std::fabs(ref.loss[r])) + 1e-5);
        if (ref.stats) {
            one(ref.lse[r], got.lse[r], 2e-5 * (1 + std::fabs(ref.lse[r])) + 1e-5);
            one(ref.ent[r], got.ent[r], 2e-5 * (1 + std::fabs(ref.ent[r])) + 1e-5);
        }
    }
    return worst;
}

void check_one(const char *what, const Host &in, bool fused) {
    int64_t want = -1;
    const Host ref = run_cpu(in, &want);
    for (int in_place = 0; in_place < 2; in_place++) {
        if (!fused && in_place) continue;
        int64_t got_row = -1;
        const double w = compare(ref, run_cuda(in, fused, in_place, &got_row));
        const bool ok = w <= 1 && got_row == want;
        g_failures += !ok;
        std::printf("| %s | %s | %s | %lldx%lld (ld %lld) | %.1f | %s | %s | %.2f | %lld / %lld |\n", g_variant.c_str(),
                    what, in.dtype ? "bf16" : "f32", (long long)in.rows, (long long)in.vocab, (long long)in.ld,
                    in.lambda, in_place ? "in place" : "out of place", ok ? "ok" : "FAIL", w, (long long)got_row,
                    (long long)want);
        tsv("validate\t%s\t%s\t%lldx%lld\t%s\t%s\t%s\n", g_variant.c_str(), what, (long long)in.rows,
            (long long)in.vocab, in.dtype ? "bf16" : "f32", in_place ? "in" : "out", ok ? "ok" : "FAIL");
    }
}

int validate(bool fused) {
    std::printf("\n| variant | check | dtype | rows x vocab | lambda | mode | result | worst err/tol | status row got / want |\n"
                "|---|---|---|---|---|---|---|---:|---|\n");
    struct S { int64_t rows, vocab, pad; };
    const S small[] = {{9, 1, 0}, {13, 7, 0}, {37, 1000, 3}, {300, 1003, 0}, {6, 32003, 1}, {3, 151936, 0}};
    const S large[] = {{64, 128256, 0}, {2, 262144, 0}, {4, 300000, 0}, {5, 300001, 5}};
    for (int dtype = 0; dtype < 2; dtype++) {
        for (const S &s : small)
            for (float lambda : {0.0f, 0.5f, 1.0f})
                check_one("random", Host(dtype, s.rows, s.vocab, s.pad, lambda, (unsigned)(s.rows * 7 + s.vocab)), fused);
        for (const S &s : large)
            check_one("random", Host(dtype, s.rows, s.vocab, s.pad, 0.42f, (unsigned)(s.rows * 7 + s.vocab)), fused);
        // Non-finite logits: +inf / NaN in labelled rows (first, middle, last chunk), in an ignored row with and
        // without statistics, and in an input lambda leaves unused.
        for (const S &s : {S{6, 4099, 1}, S{4, 300000, 0}}) {
            const float inf = INFINITY, nan = NAN;
            struct Case { const char *what; float value; int strong; int row; int64_t col; float lambda; bool stats; };
            const int64_t V = s.vocab;
            const Case cases[] = {{"+inf strong, row 1 first chunk", inf, 1, 1, 0, 0.5f, true},
                                  {"+inf weak, row 2 middle", inf, 0, 2, V / 2 + 1, 0.5f, true},
                                  {"+inf strong, row 2 last", inf, 1, 2, V - 1, 1.0f, true},
                                  {"NaN weak, row 1 last", nan, 0, 1, V - 1, 0.5f, true},
                                  {"+inf strong, ignored row 3, stats", inf, 1, 3, V / 3, 0.5f, true},
                                  {"+inf strong, ignored row 3, no stats", inf, 1, 3, V / 3, 0.5f, false},
                                  {"+inf weak unused (lambda 1)", inf, 0, 1, 5, 1.0f, true},
                                  {"+inf strong at the label", inf, 1, 2, -1, 0.5f, true}};
            for (const Case &c : cases) {
                Host h(dtype, s.rows, s.vocab, s.pad, c.lambda, 99u + (unsigned)s.vocab);
                if (c.row >= h.rows) continue;
                h.stats = c.stats;
                const int64_t col = c.col >= 0 ? c.col : h.labels[c.row];
                h.set(c.strong ? h.zs : h.zw, c.row, col, c.value);
                check_one(c.what, h, fused);
            }
        }
    }
    return g_failures;
}

// ---------------------------------------------------------------- timing

__device__ __forceinline__ uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/** Normal-ish random logits (Box-Muller on a hash of the index), scale 3, shifted: never constant. */
__global__ void fill_random(void *p, int64_t n, int bf16, uint64_t seed, float shift) {
    for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
        const uint64_t h = mix64(seed * 0x9E3779B97F4A7C15ull + (uint64_t)i);
        const float u1 = ((float)(h >> 40) + 0.5f) * (1.0f / 16777216.0f);
        const float u2 = ((float)((h >> 16) & 0xFFFFFFu) + 0.5f) * (1.0f / 16777216.0f);
        const float x = 3.0f * sqrtf(-2.0f * logf(u1)) * cospif(2.0f * u2) + shift;
        if (bf16) {
            uint32_t b = __float_as_uint(x);
            b += 0x7FFFu + ((b >> 16) & 1u);
            static_cast<uint16_t *>(p)[i] = (uint16_t)(b >> 16);
        } else {
            static_cast<float *>(p)[i] = x;
        }
    }
}

double median(std::vector<float> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? NAN : v[v.size() / 2];
}

/** A launch that failed: the process ends (its CUDA context may be unusable). */
void must(int st, const char *what) {
    if (st) {
        std::printf("FATAL %s -> %d: %s\n", what, st, wmss_last_error());
        std::fflush(stdout);
        std::exit(2);
    }
}

/**
 * Median ms of `launch(i)` (which returns a wmss status) over reps calls on stream st, each between its own pair of
 * events, all enqueued before one synchronisation; `after(i)` runs outside the events. For calls long enough that
 * the host stays ahead of the device (the large shapes).
 */
template <class L, class A>
double time_events(int reps, cudaStream_t st, L &&launch, A &&after) {
    for (int i = 0; i < 3; i++) { // warm-up: module load, attributes, caches
        must(launch(i), "warm-up launch");
        after(i);
    }
    CUDA(cudaStreamSynchronize(st));
    std::vector<cudaEvent_t> ev(2 * reps);
    for (auto &e : ev) CUDA(cudaEventCreate(&e));
    for (int i = 0; i < reps; i++) {
        CUDA(cudaEventRecord(ev[2 * i], st));
        must(launch(i), "timed launch");
        CUDA(cudaEventRecord(ev[2 * i + 1], st));
        after(i);
    }
    CUDA(cudaGetLastError());
    CUDA(cudaStreamSynchronize(st));
    std::vector<float> ms(reps);
    for (int i = 0; i < reps; i++) CUDA(cudaEventElapsedTime(&ms[i], ev[2 * i], ev[2 * i + 1]));
    for (auto &e : ev) CUDA(cudaEventDestroy(e));
    return median(ms);
}

/**
 * For calls of a few microseconds, where the host's time per call (argument checks, launch) would show between
 * events: `reps` calls captured into one CUDA graph, its replay timed with events (median of 7 replays) and divided
 * by reps. NAN if the calls cannot be captured (then the caller times with events).
 */
template <class L>
double time_graph(int reps, cudaStream_t st, L &&launch) {
    for (int i = 0; i < 3; i++) must(launch(i), "warm-up launch"); // caches and attributes before the capture
    CUDA(cudaStreamSynchronize(st));
    cudaGraph_t graph = nullptr;
    cudaGraphExec_t exec = nullptr;
    CUDA(cudaStreamBeginCapture(st, cudaStreamCaptureModeRelaxed));
    int failed = 0;
    for (int i = 0; i < reps && !failed; i++) failed = launch(i);
    const cudaError_t end = cudaStreamEndCapture(st, &graph);
    if (failed || end != cudaSuccess || cudaGraphInstantiate(&exec, graph, 0) != cudaSuccess) {
        std::printf("(graph capture refused: %s; timing with events)\n", failed ? wmss_last_error() : cudaGetErrorString(end));
        if (graph) cudaGraphDestroy(graph);
        (void)cudaGetLastError();
        return NAN;
    }
    CUDA(cudaGraphLaunch(exec, st)); // warm-up replay
    CUDA(cudaStreamSynchronize(st));
    cudaEvent_t a, b;
    CUDA(cudaEventCreate(&a));
    CUDA(cudaEventCreate(&b));
    std::vector<float> ms;
    for (int r = 0; r < 7; r++) {
        CUDA(cudaEventRecord(a, st));
        CUDA(cudaGraphLaunch(exec, st));
        CUDA(cudaEventRecord(b, st));
        CUDA(cudaEventSynchronize(b));
        float t;
        CUDA(cudaEventElapsedTime(&t, a, b));
        ms.push_back(t / reps);
    }
    CUDA(cudaGetLastError());
    CUDA(cudaEventDestroy(a));
    CUDA(cudaEventDestroy(b));
    CUDA(cudaGraphExecDestroy(exec));
    CUDA(cudaGraphDestroy(graph));
    return median(ms);
}

int time_all(const std::string &impl, int reps_big) {
    int dev = 0, l2 = 0;
    CUDA(cudaGetDevice(&dev));
    CUDA(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
    cudaStream_t st;
    CUDA(cudaStreamCreateWithFlags(&st, cudaStreamNonBlocking));
    std::printf("\n(large shapes: median of per-call events; long rows: CUDA-graph replays of 200 calls, per call)\n"
                "| impl | rows x vocab | dtype | mode | median ms | copy ms | %% of copy | GB/s |\n"
                "|---|---|---|---|---:|---:|---:|---:|\n");
    struct S { int64_t rows, vocab; };
    const S shapes[] = {{8192, 128256}, {4096, 151936}, {16384, 32000}, {2, 262144}, {4, 300000}};
    for (const S &s : shapes)
        for (int dtype = 1; dtype >= 0; dtype--) {
            const int64_t n = s.rows * s.vocab;
            const size_t es = dtype ? 2 : 4, half = (size_t)n * es * 2; // both matrices of one side
            const size_t set_bytes = 2 * half;                                 // inputs + gradients
            int sets = (int)std::min<size_t>(64, (4 * (size_t)l2 + set_bytes - 1) / set_bytes); // > 4x L2 in all
            if (sets < 1) sets = 1;
            const bool big = n >= 100000000;
            const int reps = big ? reps_big : 200;
            std::vector<void *> in(sets), out(sets), orig(sets);
            for (int k = 0; k < sets; k++) {
                CHECK(wmss_cuda_malloc(&in[k], (int64_t)half));
                CHECK(wmss_cuda_malloc(&out[k], (int64_t)half));
                CHECK(wmss_cuda_malloc(&orig[k], (int64_t)half));
                fill_random<<<4096, 256>>>(in[k], 2 * n, dtype, 1000u + k, 0.25f);
                CUDA(cudaGetLastError());
                CUDA(cudaMemcpy(orig[k], in[k], half, cudaMemcpyDeviceToDevice));
            }
            std::vector<int64_t> hl(s.rows);
            int64_t supervised = 0;
            std::mt19937 rng(7);
            for (int64_t r = 0; r < s.rows; r++) {
                hl[r] = r % 5 == 3 ? WMSS_IGNORE_INDEX : (int64_t)(rng() % s.vocab);
                supervised += hl[r] >= 0;
            }
            void *labels, *loss, *ws = nullptr;
            CHECK(wmss_cuda_malloc(&labels, s.rows * 8));
            CHECK(wmss_cuda_memcpy(labels, hl.data(), s.rows * 8));
            CHECK(wmss_cuda_malloc(&loss, s.rows * 4));
            if (impl == "unfused") CHECK(wmss_cuda_malloc(&ws, 8 * n));
            CUDA(cudaDeviceSynchronize()); // the fills and copies above ran on the legacy stream
            for (int inplace = 0; inplace < 2; inplace++) {
                if (impl == "unfused" && inplace) continue;
                auto args = [&](int k) {
                    wmss_ce_mix_args a = wmss_ce_mix_args_default();
                    a.dtype = dtype;
                    a.rows = s.rows;
                    a.vocab = s.vocab;
                    a.z_strong = in[k];
                    a.z_weak = (char *)in[k] + half / 2;
                    a.ld_strong = a.ld_weak = a.ld_grad_strong = a.ld_grad_weak = s.vocab;
                    a.labels = (const int64_t *)labels;
                    a.lambda = 0.5f;
                    a.inv_norm = 1.0f / (float)std::max<int64_t>(1, supervised);
                    a.loss = (float *)loss;
                    a.grad_strong = inplace ? in[k] : out[k];
                    a.grad_weak = (char *)(inplace ? in[k] : out[k]) + half / 2;
                    return a;
                };
                auto restore = [&](int i) {
                    if (inplace) CUDA(cudaMemcpyAsync(in[i % sets], orig[i % sets], half, cudaMemcpyDeviceToDevice, st));
                };
                auto copy = [&](int i) {
                    return (int)cudaMemcpyAsync(out[i % sets], in[i % sets], half, cudaMemcpyDeviceToDevice, st);
                };
                auto op = [&](int i) {
                    const wmss_ce_mix_args a = args(i % sets);
                    return impl == "unfused" ? wmss_cuda_ce_mix_unfused(&a, nullptr, st, (float *)ws, 2 * n)
                                             : wmss_cuda_ce_mix(&a, nullptr, st);
                };
                // Short calls: graph replays (in place then runs on its own outputs: finite, not restored).
                const bool graphed = !big;
                double copy_ms = graphed ? time_graph(reps, st, copy) : NAN, ms = graphed ? time_graph(reps, st, op) : NAN;
                if (std::isnan(copy_ms)) copy_ms = time_events(reps, st, copy, [](int) {});
                if (std::isnan(ms)) ms = time_events(reps, st, op, restore);
                const double bytes = 2.0 * half;
                std::printf("| %s | %lldx%lld | %s | %s | %.4f | %.4f | %.0f%% | %.0f |\n", impl.c_str(),
                            (long long)s.rows, (long long)s.vocab, dtype ? "bf16" : "f32",
                            inplace ? "in place" : "out of place", ms, copy_ms, 100.0 * copy_ms / ms, bytes / (ms * 1e6));
                tsv("time\t%s\t%lldx%lld\t%s\t%s\t%.5f\t%.5f\t%d\n", impl.c_str(), (long long)s.rows,
                    (long long)s.vocab, dtype ? "bf16" : "f32", inplace ? "in" : "out", ms, copy_ms, sets);
                std::fflush(stdout);
            }
            for (int k = 0; k < sets; k++)
                for (void *p : {in[k], out[k], orig[k]}) CHECK(wmss_cuda_free(p));
            for (void *p : {labels, loss, ws}) CHECK(wmss_cuda_free(p));
        }
    CUDA(cudaStreamDestroy(st));
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    // Without a stage (benchmarks/gpu-check.sh's old call: [rows vocab reps]): validate, then time, the auto variant.
    if (argc < 3 || (argv[1][0] >= '0' && argv[1][0] <= '9')) {
        std::printf("(no stage given: validate and time the auto variant; usage: %s validate|time VARIANT "
                    "[--tsv FILE] [--reps N])\n", argv[0]);
        const std::string self = argv[0];
        const int v = std::system((self + " validate auto").c_str());
        const int t = std::system((self + " time auto").c_str());
        return v || t ? 1 : 0;
    }
    const std::string stage = argv[1];
    g_variant = argv[2];
    int reps = 30;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--tsv")) g_tsv = std::fopen(argv[i + 1], "a");
        if (!std::strcmp(argv[i], "--reps")) reps = std::atoi(argv[i + 1]);
    }
    const bool fused = g_variant != "unfused";
    if (fused) CHECK(wmss_cuda_set_variant(g_variant.c_str()));
#ifdef WMSS_CHECK_EMULATE
    const char *name = "the host emulation (WMSS_CHECK_EMULATE)";
#else
    int count = 0;
    if (wmss_cuda_device_count(&count)) {
        std::printf("%s\n", wmss_last_error());
        return 2;
    }
    char name[256];
    CHECK(wmss_cuda_device_name(name, sizeof name));
#endif
    std::printf("### ce_mix %s %s on %s (%s)\n", stage.c_str(), g_variant.c_str(), name, wmss_build_info());
    int failures = 0;
    if (stage == "validate") {
        failures = validate(fused);
        std::printf("\nVALIDATE %s: %s (%d failures)\n", g_variant.c_str(), failures ? "FAIL" : "ok", failures);
#ifndef WMSS_CHECK_EMULATE
    } else if (stage == "time") {
        failures = time_all(fused ? g_variant : "unfused", reps);
#endif
    } else {
        std::printf("unknown stage %s\n", stage.c_str());
        return 2;
    }
#ifndef WMSS_CHECK_EMULATE
    CUDA(cudaDeviceSynchronize());
#endif
    if (g_tsv) std::fclose(g_tsv);
    return failures ? 1 : 0;
}
