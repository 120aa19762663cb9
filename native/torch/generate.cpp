// Greedy decoding with a KV cache (wmss_torch.h, "generation"): the prompts run once (prefill, left-padded so that
// every row's last prompt token is in the last column), then one token per step for the rows still decoding; logits
// only for the positions that are decoded, the argmax taken here, and finished rows dropped from the batch.
#include <algorithm>
#include <string>
#include <vector>

#include "error.h"
#include "fused_head.h"
#include "model.h"
#include "threads.h"
#include "wmss_torch.h"

namespace {

using wmss::Error;

struct Request {
    const int64_t *prompts, *prompt_lens;
    int64_t batch, width, max_new, max_len, eos;
    int64_t *out, *out_lens;
};

void validate(const Request &r, int64_t vocab) {
    if (!r.prompts || !r.prompt_lens || !r.out_lens || (!r.out && r.max_new > 0))
        throw Error{WMSS_ERR_NULL_POINTER, "prompts, prompt_lens, out and out_lens are required"};
    if (r.batch < 1 || r.width < 1) throw Error{WMSS_ERR_SHAPE, "batch and width must be >= 1"};
    if (r.max_new < 0) throw Error{WMSS_ERR_ARGUMENT, "max_new must be >= 0, got " + std::to_string(r.max_new)};
    if (r.max_len < 1) throw Error{WMSS_ERR_ARGUMENT, "max_len must be >= 1, got " + std::to_string(r.max_len)};
    for (int64_t i = 0; i < r.batch; i++) {
        const int64_t n = r.prompt_lens[i];
        if (n < 1 || n > r.width)
            throw Error{WMSS_ERR_SHAPE, "prompt_lens[" + std::to_string(i) + "] = " + std::to_string(n) +
                                            " is outside [1, width = " + std::to_string(r.width) + "]"};
        for (int64_t t = 0; t < n; t++) {
            const int64_t id = r.prompts[i * r.width + t];
            if (id < 0 || id >= vocab)
                throw Error{WMSS_ERR_LABEL, "prompt " + std::to_string(i) + " token " + std::to_string(t) + " = " +
                                                std::to_string(id) + " is outside [0, " + std::to_string(vocab) + ")"};
        }
    }
}

void generate(wmss::Decoder &net, const Request &r) {
    const int64_t V = net.config().vocab_size;
    validate(r, V);
    torch::NoGradGuard no_grad;
    wmss::use_all_cores();
    const int64_t B = r.batch;
    std::vector<int64_t> len(r.prompt_lens, r.prompt_lens + B), made(B, 0);
    const int64_t W = *std::max_element(len.begin(), len.end());
    // left-padded prompts: row i's tokens in the last len[i] columns
    torch::Tensor ids = torch::zeros({B, W}, torch::kInt64), mask = torch::zeros({B, W}, torch::kInt64);
    auto id = ids.accessor<int64_t, 2>();
    auto mk = mask.accessor<int64_t, 2>();
    for (int64_t i = 0; i < B; i++)
        for (int64_t t = 0; t < len[i]; t++) {
            id[i][W - len[i] + t] = r.prompts[i * r.width + t];
            mk[i][W - len[i] + t] = 1;
        }
    std::vector<int64_t> rows(B); // the cache's rows, as indices of the request
    for (int64_t i = 0; i < B; i++) rows[i] = i;
    wmss::KvCache cache;
    const int64_t capacity = W + std::max<int64_t>(r.max_new - 1, 0);
    torch::Tensor last; // [rows, H]: the hidden state that predicts each active row's next token
    const torch::Tensor head = net.cast(net.head_weight().detach());
    for (int64_t t = 0; t < r.max_new; t++) {
        // the same stop as decoding by re-running the sequence: the longest row (finished ones too) reached max_len
        if (*std::max_element(len.begin(), len.end()) >= r.max_len) break;
        if (t == 0) {
            last = net.extend(ids, mask, cache, capacity).select(1, W - 1);
        } else {
            torch::Tensor next = torch::empty({(int64_t)rows.size(), 1}, torch::kInt64);
            auto nx = next.accessor<int64_t, 2>();
            for (size_t k = 0; k < rows.size(); k++) nx[k][0] = r.out[rows[k] * r.max_new + made[rows[k]] - 1];
            last = net.extend(next, torch::ones_like(next), cache, capacity).select(1, 0);
        }
        const torch::Tensor best = torch::linear(last, head).argmax(1).cpu(); // first maximum on ties
        const auto b = best.accessor<int64_t, 1>();
        std::vector<int64_t> keep;
        for (size_t k = 0; k < rows.size(); k++) {
            const int64_t i = rows[k];
            if (b[k] == r.eos) continue; // finished: EOS is not part of the output
            r.out[i * r.max_new + made[i]++] = b[k];
            len[i]++;
            keep.push_back((int64_t)k);
        }
        if (keep.empty()) break;
        if (keep.size() != rows.size()) {
            std::vector<int64_t> still;
            for (int64_t k : keep) still.push_back(rows[k]);
            rows.swap(still);
            cache.select_rows(torch::tensor(keep, torch::kInt64));
        }
    }
    for (int64_t i = 0; i < B; i++) r.out_lens[i] = made[i];
}

}  // namespace

extern "C" int wmss_torch_model_generate(wmss_torch_model *m, const int64_t *prompts, const int64_t *prompt_lens,
                                         int64_t batch, int64_t width, int64_t max_new, int64_t max_len, int64_t eos,
                                         int64_t *out, int64_t *out_lens) {
    return wmss::torch_guard("wmss_torch_model_generate", [&] {
        if (!m) throw Error{WMSS_ERR_NULL_POINTER, "model handle is NULL"};
        generate(wmss::decoder_of(m), Request{prompts, prompt_lens, batch, width, max_new, max_len, eos, out, out_lens});
    });
}
