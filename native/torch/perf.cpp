// Performance accounting of libwmss_torch (wmss_torch.h): the matmul FLOPs of a model's forward and the measured
// sgemm rate of the machine, which together give the training log's MFU.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#include "device.h"
#include "error.h"
#include "fused_head.h"
#include "threads.h"

namespace {
void check(int status) {
    if (status != WMSS_OK) throw wmss::Error{status, wmss_torch_last_error()};
}
}  // namespace

extern "C" {

int wmss_torch_model_flops(wmss_torch_model *m, int64_t batch, int64_t seq, double *forward_flops) {
    return wmss::torch_guard("wmss_torch_model_flops", [&] {
        if (!m || !forward_flops) throw wmss::Error{WMSS_ERR_NULL_POINTER, "model and forward_flops are required"};
        if (batch < 0 || seq < 0) throw wmss::Error{WMSS_ERR_SHAPE, "batch and seq must be >= 0"};
        const wmss::ModelConfig &c = wmss::decoder_of(m).config();
        const double H = (double)c.hidden_size, nq = (double)(c.num_attention_heads * c.head_dim),
                     nkv = (double)(c.num_key_value_heads * c.head_dim), I = (double)c.intermediate_size;
        const double T = (double)seq, tokens = (double)batch * T;
        // per token and layer: q, k, v, o projections, gate/up/down, and the T x T scores and their weighted sum
        // (the model computes every key position and masks, so the full T is counted)
        const double layer = 2 * (H * nq + 2 * H * nkv + nq * H + 3 * H * I) + 4 * T * nq;
        *forward_flops = tokens * ((double)c.num_hidden_layers * layer + 2 * H * (double)c.vocab_size);
    });
}

int wmss_torch_sgemm_peak(double *flops_per_second) {
    return wmss::torch_guard("wmss_torch_sgemm_peak", [&] {
        if (!flops_per_second) throw wmss::Error{WMSS_ERR_NULL_POINTER, "flops_per_second is NULL"};
        wmss::use_all_cores();
        torch::NoGradGuard no_grad;
        const int64_t n = 2048;
        const auto a = torch::rand({n, n}), b = torch::rand({n, n});
        auto c = torch::empty({n, n});
        at::mm_out(c, a, b); // warm-up: threads started, pages touched
        double best = 1e300;
        for (int i = 0; i < 4; i++) {
            const auto t0 = std::chrono::steady_clock::now();
            at::mm_out(c, a, b);
            best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        *flops_per_second = 2.0 * (double)n * (double)n * (double)n / best;
    });
}

int wmss_torch_matmul_peak(const char *device, int precision, double *flops_per_second) {
    return wmss::torch_guard("wmss_torch_matmul_peak", [&] {
        if (!device || !flops_per_second) throw wmss::Error{WMSS_ERR_NULL_POINTER, "device and flops_per_second are required"};
        if (precision != WMSS_DTYPE_F32 && precision != WMSS_DTYPE_BF16)
            throw wmss::Error{WMSS_ERR_DTYPE, "precision must be WMSS_DTYPE_F32 or WMSS_DTYPE_BF16"};
        const torch::Device d = wmss::parse_device(device);
        if (d.is_cpu() && precision == WMSS_DTYPE_F32) {
            check(wmss_torch_sgemm_peak(flops_per_second));
            return;
        }
        torch::NoGradGuard no_grad;
        wmss::use_all_cores();
        const int64_t n = d.is_cpu() ? 1024 : 8192;
        const auto opt = torch::TensorOptions().device(d).dtype(precision == WMSS_DTYPE_BF16 ? torch::kBFloat16 : torch::kFloat32);
        const auto a = torch::randn({n, n}, opt), b = torch::randn({n, n}, opt); // random data: zeros run faster
        auto c = torch::empty({n, n}, opt);
        at::mm_out(c, a, b);
        wmss::device_synchronize(d);
        double best = 1e300;
        const int reps = d.is_cpu() ? 2 : 10;
        for (int i = 0; i < 3; i++) {
            const auto t0 = std::chrono::steady_clock::now();
            for (int r = 0; r < reps; r++) at::mm_out(c, a, b);
            wmss::device_synchronize(d);
            best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / reps);
        }
        *flops_per_second = 2.0 * (double)n * (double)n * (double)n / best;
    });
}

}  // extern "C"
