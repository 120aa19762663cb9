// Data parallel for models (wmss_torch.h): gradients all-reduced in flat buckets (as DDP: ~25 MiB, parameters in
// approximate backward order), optionally launched from autograd hooks during backward so communication overlaps
// the rest of the backward pass; parameters broadcast from one rank so every rank starts identical.
#include <torch/csrc/autograd/functions/accumulate_grad.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <algorithm>
#include <climits>
#include <limits>
#include <regex>

#include "dist.h"
#include "model.h"

namespace {

using wmss::Error;

wmss::DistGroup &need(wmss_torch_dist *pg) {
    if (!pg || !pg->group) throw Error{WMSS_ERR_NULL_POINTER, "process group handle is NULL"};
    return *pg->group;
}

int64_t bucket_cap(int64_t bucket_bytes) {
    if (bucket_bytes < 0) throw Error{WMSS_ERR_ARGUMENT, "bucket_bytes must be >= 0 (0: the default)"};
    return bucket_bytes ? bucket_bytes : WMSS_TORCH_DIST_DEFAULT_BUCKET_BYTES;
}

/** Throws the same error on every rank when the ranks' values differ (e.g. models of different architectures). */
void check_same(wmss::DistGroup &g, const char *what, const std::vector<int64_t> &values) {
    auto v = torch::tensor(values, torch::kInt64);
    auto both = torch::cat({v, -v});
    g.run(what, [&] {
        std::vector<torch::Tensor> t{g.stage(both)};
        c10d::AllreduceOptions o;
        o.reduceOp = c10d::ReduceOp::MAX;
        g.wait(g.pg->allreduce(t, o));
        both = t[0].cpu();
    });
    const auto n = static_cast<int64_t>(values.size());
    if (!torch::equal(both.narrow(0, 0, n), -both.narrow(0, n, n)))
        throw Error{WMSS_ERR_SHAPE, std::string(what) + ": the ranks' models differ (parameter count, elements or "
                                                        "bucket plan); every rank must hold the same architecture"};
}

int grad_op(int op) {
    if (op != WMSS_TORCH_DIST_SUM && op != WMSS_TORCH_DIST_AVG)
        throw Error{WMSS_ERR_ARGUMENT, "gradients are reduced with WMSS_TORCH_DIST_SUM or WMSS_TORCH_DIST_AVG"};
    return op;
}

}  // namespace

std::vector<std::pair<std::string, torch::Tensor>> wmss::backward_order(const TensorMap &named) {
    static const std::regex layer(R"((^|\.)layers\.(\d+)\.)");
    auto depth = [](const std::string &name) -> long {
        std::smatch m;
        if (std::regex_search(name, m, layer)) return std::stol(m[2]);
        if (name.find("embed") != std::string::npos) return -1; // the input end: its gradient is final last
        // An untied head last: the fused head (wmss_torch_fused_head) writes its gradient outside autograd, so its
        // accumulator never fires and a first bucket holding it would keep every bucket from launching early.
        if (name.rfind("lm_head.", 0) == 0) return -2;
        return LONG_MAX;                                         // final norm: final first
    };
    std::vector<std::pair<std::string, torch::Tensor>> out(named.begin(), named.end());
    std::stable_sort(out.begin(), out.end(), [&](const auto &a, const auto &b) { return depth(a.first) > depth(b.first); });
    return out;
}

std::vector<std::vector<size_t>> wmss::plan_buckets(const std::vector<torch::Tensor> &tensors, int64_t bucket_bytes) {
    std::vector<std::vector<size_t>> out;
    int64_t bytes = 0;
    for (size_t i = 0; i < tensors.size(); i++) {
        const int64_t b = tensors[i].numel() * static_cast<int64_t>(tensors[i].element_size());
        const bool fits = !out.empty() && bytes + b <= bucket_bytes &&
                          tensors[out.back().front()].scalar_type() == tensors[i].scalar_type();
        if (!fits) {
            out.emplace_back();
            bytes = 0;
        }
        out.back().push_back(i);
        bytes += b;
    }
    return out;
}

struct wmss_torch_dist_grads {
    struct Bucket {
        std::vector<size_t> members;
        std::vector<int64_t> offsets;
        torch::Tensor flat;
        size_t pending = 0; // members whose gradient is not final yet in the armed backward
        bool in_backward = false; // launched from a hook: the members' gradients were moved out (zeroed)
        c10::intrusive_ptr<c10d::Work> work;
    };

    std::shared_ptr<wmss::DistGroup> group;
    std::vector<torch::Tensor> params; // trainable at creation, in backward order
    std::vector<Bucket> buckets;
    std::vector<size_t> bucket_of;
    std::vector<char> ready;
    std::vector<std::shared_ptr<torch::autograd::Node>> accumulators; // held: tensors keep them only weakly
    std::vector<uintptr_t> hooks;
    bool armed = false;
    size_t next = 0;         // buckets launch in index order so every rank issues the same sequence
    size_t overlapped = 0;   // buckets the last sync found launched from inside backward
    std::string hook_error;  // a failure inside backward, reported by sync

    wmss_torch_dist_grads(std::shared_ptr<wmss::DistGroup> g, wmss_torch_model *m, int64_t bucket_bytes) : group(std::move(g)) {
        for (auto &kv : wmss::backward_order(wmss::model_parameters(m)))
            if (kv.second.requires_grad()) params.push_back(kv.second);
        for (const auto &members : wmss::plan_buckets(params, bucket_bytes)) {
            Bucket b;
            b.members = members;
            int64_t n = 0;
            for (size_t i : members) {
                b.offsets.push_back(n);
                n += params[i].numel();
            }
            b.flat = torch::empty({n}, params[members.front()].options().requires_grad(false).device(group->device));
            buckets.push_back(std::move(b));
        }
        int64_t elements = 0;
        for (const auto &p : params) elements += p.numel();
        check_same(*group, "gradient buckets", {static_cast<int64_t>(params.size()), elements,
                                                static_cast<int64_t>(buckets.size())});
        bucket_of.resize(params.size());
        for (size_t b = 0; b < buckets.size(); b++)
            for (size_t i : buckets[b].members) bucket_of[i] = b;
        reset();
    }

    ~wmss_torch_dist_grads() {
        for (size_t i = 0; i < hooks.size(); i++) accumulators[i]->del_post_hook(hooks[i]);
    }

    void add_hooks() {
        for (size_t i = 0; i < params.size(); i++) {
            auto acc = torch::autograd::impl::grad_accumulator(params[i]);
            if (!acc) throw Error{WMSS_ERR_ARGUMENT, "a trainable parameter has no gradient accumulator"};
            hooks.push_back(acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
                [this, i](const torch::autograd::variable_list &outputs, const torch::autograd::variable_list &) {
                    ready_in_backward(i);
                    return outputs;
                })));
            accumulators.push_back(std::move(acc));
        }
    }

    void reset() {
        armed = false;
        next = 0;
        ready.assign(params.size(), 0);
        for (auto &b : buckets) {
            b.pending = b.members.size();
            b.in_backward = false;
            b.work.reset();
        }
    }

    // Called by autograd once a parameter's gradient is accumulated; never throws into the engine.
    void ready_in_backward(size_t i) {
        if (!armed || ready[i] || !hook_error.empty()) return;
        ready[i] = 1;
        if (--buckets[bucket_of[i]].pending > 0) return;
        try {
            while (next < buckets.size() && buckets[next].pending == 0) launch(next++, true);
        } catch (const Error &e) {
            hook_error = e.message;
        } catch (const std::exception &e) {
            hook_error = e.what();
        }
    }

    /**
     * Copies the bucket's gradients into its flat buffer and starts its all-reduce. From a hook (inside backward)
     * the gradients are moved out: zeroed in place (raw pointers to them stay valid), so whatever is added to them
     * later (a contribution outside autograd, a second backward) is found by sync's sweep and reduced too.
     */
    void launch(size_t bi, bool from_hook) {
        Bucket &b = buckets[bi];
        torch::NoGradGuard no_grad;
        for (size_t k = 0; k < b.members.size(); k++) {
            const auto &p = params[b.members[k]];
            auto slot = b.flat.narrow(0, b.offsets[k], p.numel());
            if (p.grad().defined()) {
                slot.copy_(p.grad().reshape({-1}));
                if (from_hook) p.mutable_grad().zero_();
            } else {
                slot.zero_();
            }
        }
        b.in_backward = from_hook;
        group->run("gradient all-reduce", [&] {
            std::vector<torch::Tensor> v{b.flat};
            b.work = group->pg->allreduce(v);
        });
    }

    /**
     * The final sweep of an armed sync: which buckets, on any rank, received gradient after they were launched
     * from inside backward (flags all-reduced with MAX, so every rank agrees on the collectives that follow). For
     * those, each rank's late part (its zeroed-then-added gradients, or zeros where it launched the bucket only now)
     * is all-reduced and added. Costs one read of the launched gradients and one tiny collective per step.
     */
    void add_late_gradients(int op) {
        torch::NoGradGuard no_grad;
        std::vector<torch::Tensor> peaks;   // max |late gradient| per member of a bucket launched in backward
        std::vector<size_t> peak_bucket;
        for (size_t bi = 0; bi < buckets.size(); bi++) {
            if (!buckets[bi].in_backward) continue;
            for (size_t i : buckets[bi].members) {
                if (!params[i].grad().defined()) continue;
                peaks.push_back(torch::linalg_vector_norm(params[i].grad(), std::numeric_limits<double>::infinity())
                                    .to(torch::kFloat64));
                peak_bucket.push_back(bi);
            }
        }
        auto late = torch::zeros({static_cast<int64_t>(buckets.size())}, torch::kInt64);
        if (!peaks.empty()) {
            const auto host = torch::stack(peaks).cpu(); // one device read-back for all of them
            const double *v = host.data_ptr<double>();
            for (size_t k = 0; k < peak_bucket.size(); k++)
                if (!(v[k] == 0)) late[static_cast<int64_t>(peak_bucket[k])] = 1; // NaN counts as late too
        }
        group->run("gradient all-reduce (late contributions)", [&] {
            std::vector<torch::Tensor> t{group->stage(late)};
            c10d::AllreduceOptions o;
            o.reduceOp = c10d::ReduceOp::MAX;
            group->wait(group->pg->allreduce(t, o));
            wmss::DistGroup::unstage(late, t[0]);
        });
        const int64_t *flag = late.data_ptr<int64_t>();
        for (size_t bi = 0; bi < buckets.size(); bi++) {
            if (!flag[bi]) continue;
            Bucket &b = buckets[bi];
            auto extra = torch::zeros_like(b.flat);
            if (b.in_backward) {
                for (size_t k = 0; k < b.members.size(); k++) {
                    const auto &p = params[b.members[k]];
                    if (p.grad().defined()) extra.narrow(0, b.offsets[k], p.numel()).copy_(p.grad().reshape({-1}));
                }
            }
            group->run("gradient all-reduce (late contributions)", [&] {
                std::vector<torch::Tensor> v{extra};
                group->wait(group->pg->allreduce(v));
            });
            if (op == WMSS_TORCH_DIST_AVG) extra.div_(group->world);
            b.flat.add_(extra);
        }
    }

    void sync(int op) {
        if (!hook_error.empty()) {
            const std::string e = hook_error;
            reset();
            hook_error.clear();
            throw Error{WMSS_TORCH_ERR_DIST, "gradient all-reduce during backward: " + e};
        }
        group->usable("gradient all-reduce");
        const bool swept = armed; // every rank armed this step (prepare is called on all of them or on none)
        overlapped = next;
        while (next < buckets.size()) launch(next++, false);
        torch::NoGradGuard no_grad;
        for (auto &b : buckets) {
            group->run("gradient all-reduce", [&] { group->wait(b.work); });
            if (op == WMSS_TORCH_DIST_AVG) b.flat.div_(group->world);
        }
        if (swept) add_late_gradients(op);
        for (auto &b : buckets) {
            for (size_t k = 0; k < b.members.size(); k++) {
                auto &p = params[b.members[k]];
                if (!p.requires_grad()) continue; // frozen since: took part (same plan on every rank), keeps no grad
                auto slot = b.flat.narrow(0, b.offsets[k], p.numel()).view(p.sizes());
                if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
                p.mutable_grad().copy_(slot);
            }
        }
        reset();
    }
};

extern "C" {

int wmss_torch_dist_grads_new(wmss_torch_dist *pg, wmss_torch_model *m, int64_t bucket_bytes, int overlap,
                              wmss_torch_dist_grads **out) {
    return wmss::torch_guard("wmss_torch_dist_grads_new", [&] {
        if (!out) throw Error{WMSS_ERR_NULL_POINTER, "out is NULL"};
        *out = nullptr;
        need(pg);
        auto s = std::make_unique<wmss_torch_dist_grads>(pg->group, m, bucket_cap(bucket_bytes));
        if (overlap) s->add_hooks();
        *out = s.release();
    });
}

int wmss_torch_dist_grads_prepare(wmss_torch_dist_grads *g) {
    return wmss::torch_guard("wmss_torch_dist_grads_prepare", [&] {
        if (!g) throw Error{WMSS_ERR_NULL_POINTER, "gradient sync handle is NULL"};
        if (g->hooks.empty()) return;
        if (g->next > 0) throw Error{WMSS_ERR_ARGUMENT, "the previous armed backward was not synced (call sync first)"};
        g->reset();
        g->armed = true;
    });
}

int wmss_torch_dist_grads_sync(wmss_torch_dist_grads *g, int op, double *wait_seconds) {
    return wmss::torch_guard("wmss_torch_dist_grads_sync", [&] {
        if (!g) throw Error{WMSS_ERR_NULL_POINTER, "gradient sync handle is NULL"};
        grad_op(op);
        const auto t0 = std::chrono::steady_clock::now();
        g->sync(op);
        if (wait_seconds) *wait_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    });
}

int wmss_torch_dist_grads_info(wmss_torch_dist_grads *g, int64_t *buckets, int64_t *elements, int64_t *overlapped) {
    return wmss::torch_guard("wmss_torch_dist_grads_info", [&] {
        if (!g) throw Error{WMSS_ERR_NULL_POINTER, "gradient sync handle is NULL"};
        if (buckets) *buckets = static_cast<int64_t>(g->buckets.size());
        if (elements) {
            int64_t n = 0;
            for (const auto &b : g->buckets) n += b.flat.numel();
            *elements = n;
        }
        if (overlapped) *overlapped = static_cast<int64_t>(g->overlapped);
    });
}

int wmss_torch_dist_grads_free(wmss_torch_dist_grads *g) {
    return wmss::torch_guard("wmss_torch_dist_grads_free", [&] { delete g; });
}

int wmss_torch_dist_allreduce_grads(wmss_torch_dist *pg, wmss_torch_model *m, int op, int64_t bucket_bytes) {
    return wmss::torch_guard("wmss_torch_dist_allreduce_grads", [&] {
        need(pg);
        grad_op(op);
        wmss_torch_dist_grads s(pg->group, m, bucket_cap(bucket_bytes));
        s.sync(op);
    });
}

int wmss_torch_dist_broadcast_params(wmss_torch_dist *pg, wmss_torch_model *m, int root) {
    return wmss::torch_guard("wmss_torch_dist_broadcast_params", [&] {
        auto &g = need(pg);
        if (root < 0 || root >= g.world) throw Error{WMSS_ERR_ARGUMENT, "root " + std::to_string(root) + " outside the group"};
        std::vector<torch::Tensor> ps;
        for (const auto &kv : wmss::model_parameters(m)) ps.push_back(kv.second); // name order: same on every rank
        int64_t elements = 0;
        for (const auto &p : ps) elements += p.numel();
        check_same(g, "parameter broadcast", {static_cast<int64_t>(ps.size()), elements});
        torch::NoGradGuard no_grad;
        for (const auto &members : wmss::plan_buckets(ps, WMSS_TORCH_DIST_DEFAULT_BUCKET_BYTES)) {
            std::vector<torch::Tensor> flat;
            for (size_t i : members) flat.push_back(ps[i].reshape({-1}));
            std::vector<torch::Tensor> v{g.stage(torch::cat(flat))};
            g.run("parameter broadcast", [&] {
                c10d::BroadcastOptions o;
                o.rootRank = root;
                g.wait(g.pg->broadcast(v, o));
            });
            int64_t at = 0;
            for (size_t i : members) {
                ps[i].copy_(v[0].narrow(0, at, ps[i].numel()).view(ps[i].sizes()));
                at += ps[i].numel();
            }
        }
    });
}

}  // extern "C"
