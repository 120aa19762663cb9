// Performance accounting of libwmss_torch (wmss_torch.h): the matmul FLOPs of a model's forward and the measured
// sgemm rate of the machine, which together give the training log's MFU.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>

#include "error.h"
#include "fused_head.h"
#include "threads.h"

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

}  // extern "C"
