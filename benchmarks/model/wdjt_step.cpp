// wdjt_step: one WD-JT training step of two decoders (weak and strong, both trained) through the C ABI that Java
// uses, with the loss head either fused (forward to the final norm, wmss_torch_fused_head in chunks) or full
// (forward to N x V logits, ce_mix in place, backward from the logits' gradient); "body" runs the step without a
// head (both forwards to the final norm, then both backwards from a zero d loss / d hidden) as the memory baseline
// of the rest of the model. Prints one line of key=value pairs per head: step times, the process's peak resident memory during a
// step (VmHWM, reset as the step starts; with one head per process the models, gradients and AdamW state are the
// same in every run, so peak(head) - peak(body) is the memory of the loss part), and the MFU against a measured
// sgemm rate. benchmarks/run-fused-head.sh
// and benchmarks/run-step.sh drive it.
//
// Usage: wdjt_step --head fused|full|body[/ref][,...] [--config F] [--batch B] [--seq T] [--steps S] [--warmup W]
//                  [--chunk-mb M] [--lambda L] [--sft] [--peak] [--threads N]
// Several heads (--head full,fused) alternate step by step on the same models (the same math, so the models stay
// alike), which keeps their time ratio fair on a noisy machine; measure memory with one head per process. A "/ref"
// suffix runs that head with the decoder's composite reference ops instead of the fused ones.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "wmss.h"
#include "wmss_torch.h"

#define CHECK(x)                                                                                                  \
    do {                                                                                                          \
        if (int st_ = (x)) {                                                                                      \
            std::fprintf(stderr, "%s failed (%d): %s %s\n", #x, st_, wmss_last_error(), wmss_torch_last_error()); \
            std::exit(1);                                                                                         \
        }                                                                                                         \
    } while (0)

namespace {

/** A field of /proc/self/status in MiB (VmRSS, VmHWM). */
double status_mib(const char *field) {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind(field, 0) == 0) return std::atof(line.c_str() + std::strlen(field) + 1) / 1024.0;
    return -1;
}

/** Resets the peak resident size (VmHWM) to the current one (Linux >= 4.0). */
bool reset_peak() {
    std::ofstream out("/proc/self/clear_refs");
    out << "5";
    return (bool)out;
}

double now_ms() {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

int main(int argc, char **argv) {
    std::string head = "fused", config_path = "benchmarks/model/model-10m.json";
    int64_t batch = 8, seq = 128, chunk_mb = 320;
    int steps = 10, warmup = 3;
    float lambda = 0.5f;
    bool sft = false, peak = false;
    int threads = -1;
    for (int i = 1; i < argc; i++) {
        const std::string a = argv[i];
        auto next = [&]() -> const char * {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", a.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (a == "--head") head = next();
        else if (a == "--config") config_path = next();
        else if (a == "--batch") batch = std::atoll(next());
        else if (a == "--seq") seq = std::atoll(next());
        else if (a == "--steps") steps = std::atoi(next());
        else if (a == "--warmup") warmup = std::atoi(next());
        else if (a == "--chunk-mb") chunk_mb = std::atoll(next());
        else if (a == "--lambda") lambda = (float)std::atof(next());
        else if (a == "--sft") sft = true;
        else if (a == "--peak") peak = true;
        else if (a == "--threads") threads = std::atoi(next());
        else {
            std::fprintf(stderr, "unknown argument %s\n", a.c_str());
            return 2;
        }
    }
    std::vector<std::string> heads;
    for (size_t at = 0; at <= head.size();) {
        const size_t comma = std::min(head.find(',', at), head.size());
        heads.push_back(head.substr(at, comma - at));
        at = comma + 1;
    }
    // "fused/ref": the same head with the decoder's composite reference ops instead of the fused ones
    auto base = [](const std::string &h) { return h.substr(0, h.find('/')); };
    for (const auto &h : heads)
        if ((base(h) != "fused" && base(h) != "full" && base(h) != "body") || (h.find('/') != std::string::npos && h.substr(h.find('/')) != "/ref")) {
            std::fprintf(stderr, "--head must be fused, full or body (or a comma-separated list)\n");
            return 2;
        }
    if (threads >= 0) CHECK(wmss_torch_set_num_threads(threads));
    std::ifstream in(config_path);
    if (!in) {
        std::fprintf(stderr, "cannot read %s\n", config_path.c_str());
        return 1;
    }
    std::stringstream config;
    config << in.rdbuf();
    std::vector<wmss_torch_model *> models(sft ? 1 : 2);
    for (size_t k = 0; k < models.size(); k++) {
        CHECK(wmss_torch_model_init(config.str().c_str(), 1 + k, &models[k]));
        CHECK(wmss_torch_model_adamw(models[k], 1e-4, 0.9, 0.95, 1e-8, 0.1));
    }
    wmss_torch_model *strong = models[0], *weak = sft ? nullptr : models[1];
    if (sft) lambda = 1.0f;
    int64_t vocab = 0, params = 0;
    CHECK(wmss_torch_model_info(strong, &vocab, &params));
    const int64_t n = batch * seq;
    std::vector<int64_t> ids(n), labels(n);
    for (int64_t i = 0; i < n; i++) ids[i] = (i * 7919) % vocab, labels[i] = (i * 104729 + 1) % vocab;
    std::vector<float> loss(n);
    double flops = 0;
    for (auto *m : models) {
        double f = 0;
        CHECK(wmss_torch_model_flops(m, batch, seq, &f));
        flops += 3 * f;
    }
    std::vector<float> zero_grad_hidden;

    auto step = [&](const std::string &variant) -> double {
        double total = 0;
        CHECK(wmss_torch_set_fused_ops(variant.find("/ref") == std::string::npos));
        const std::string head = base(variant);
        if (head == "full") {
            std::vector<float *> z(models.size());
            for (size_t k = 0; k < models.size(); k++)
                CHECK(wmss_torch_model_forward(models[k], ids.data(), nullptr, batch, seq, 1, &z[k]));
            wmss_ce_mix_args a = wmss_ce_mix_args_default();
            a.dtype = WMSS_DTYPE_F32;
            a.rows = n;
            a.vocab = vocab;
            a.z_strong = a.grad_strong = z[0];
            a.z_weak = sft ? z[0] : z[1];
            a.grad_weak = sft ? nullptr : z[1];
            a.ld_strong = a.ld_weak = a.ld_grad_strong = a.ld_grad_weak = vocab;
            a.labels = labels.data();
            a.lambda = lambda;
            a.inv_norm = 1.0f / (float)n;
            a.loss = loss.data();
            CHECK(wmss_ce_mix(&a));
            for (size_t k = 0; k < models.size(); k++) CHECK(wmss_torch_model_backward(models[k], z[k]));
        } else if (head == "fused") {
            for (auto *m : models) {
                float *h = nullptr;
                CHECK(wmss_torch_model_forward_hidden(m, ids.data(), nullptr, batch, seq, 1, &h, nullptr));
            }
            wmss_torch_fused_head_args a = wmss_torch_fused_head_args_default();
            a.strong = strong;
            a.weak = weak;
            a.labels = labels.data();
            a.rows = n;
            a.lambda = lambda;
            a.inv_norm = 1.0f / (float)n;
            a.chunk_bytes = chunk_mb << 20;
            a.loss = loss.data();
            CHECK(wmss_torch_fused_head(&a));
        } else {
            // Both forwards, then both backwards: the heads hold both models' graphs at once, so must the baseline.
            int64_t width = 0;
            for (auto *m : models) {
                float *h = nullptr;
                CHECK(wmss_torch_model_forward_hidden(m, ids.data(), nullptr, batch, seq, 1, &h, &width));
            }
            zero_grad_hidden.assign(n * width, 0.0f);
            for (auto *m : models) CHECK(wmss_torch_model_backward_hidden(m, zero_grad_hidden.data()));
        }
        for (float l : loss) total += l;
        for (auto *m : models) CHECK(wmss_torch_model_step(m, 1e-4, 1.0, nullptr));
        return total / (double)n;
    };

    for (int s = 0; s < warmup; s++)
        for (const auto &h : heads) step(h);
    const size_t H = heads.size();
    std::vector<std::vector<double>> ms(H);
    std::vector<double> peak_above(H, 0), peak_abs(H, 0), rest(H, 0), last_loss(H, 0), cached(H, 0);
    const bool can_reset = reset_peak();
    for (int s = 0; s < steps; s++) {
        for (size_t k = 0; k < H; k++) {
            const double before = status_mib("VmRSS:");
            reset_peak();
            const double t0 = now_ms();
            last_loss[k] = step(heads[k]);
            ms[k].push_back(now_ms() - t0);
            const double hwm = status_mib("VmHWM:");
            peak_above[k] = std::max(peak_above[k], hwm - before);
            peak_abs[k] = std::max(peak_abs[k], hwm);
            rest[k] = before;
            int64_t cache[4] = {0, 0, 0, 0}; // free blocks libwmss_torch's caching allocator holds after the step
            CHECK(wmss_torch_cache_stats(cache));
            cached[k] = (double)cache[0] / (1 << 20);
        }
    }
    double sgemm = 0;
    if (peak) CHECK(wmss_torch_sgemm_peak(&sgemm));
    int intra = 0, passive = 0;
    CHECK(wmss_torch_num_threads(&intra, &passive));
    for (size_t k = 0; k < H; k++) {
        std::vector<double> sorted = ms[k];
        std::sort(sorted.begin(), sorted.end());
        const double med = sorted[sorted.size() / 2];
        std::printf("head=%s models=%zu params=%lld vocab=%lld tokens=%lld chunk_mb=%lld intra_op=%d passive=%d "
                    "ms_median=%.2f ms_min=%.2f ms_max=%.2f tok_s=%.0f rss_rest_mib=%.1f step_peak_mib=%.1f step_peak_above_rest_mib=%.1f "
                    "cache_free_mib=%.1f peak_reset=%s loss=%.5f gflop=%.2f sgemm_gflops=%.1f mfu=%.3f\n",
                    heads[k].c_str(), models.size(), (long long)params, (long long)vocab, (long long)n,
                    (long long)chunk_mb, intra, passive, med, sorted.front(), sorted.back(), (double)n / med * 1e3,
                    rest[k], peak_abs[k], peak_above[k], cached[k], can_reset ? "yes" : "no", last_loss[k], flops / 1e9, sgemm / 1e9,
                    sgemm > 0 ? flops / (med / 1e3) / sgemm : 0.0);
    }
    for (auto *m : models) CHECK(wmss_torch_model_free(m));
    return 0;
}
