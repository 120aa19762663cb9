// The data-parallel layer's internals: a c10d process group (Gloo or NCCL) shared by the group handle and the
// gradient buckets, and the one place where a failed collective becomes WMSS_TORCH_ERR_DIST.
#pragma once
#include <torch/torch.h>

#include "compat_c10d.h"

#include <chrono>
#include <string>

#include "error.h"
#include "safetensors.h"
#include "wmss_torch.h"

namespace wmss {

struct DistGroup {
    c10::intrusive_ptr<c10d::Store> store;
    c10::intrusive_ptr<compat::Collectives> pg; // the Gloo or NCCL process group
    std::string backend;
    int rank = 0, world = 1, local_rank = 0;
    torch::Device device = torch::kCPU; // where the backend wants its tensors
    std::chrono::milliseconds timeout{WMSS_TORCH_DIST_DEFAULT_TIMEOUT_MS};
    std::string broken; // the first failure: the group is unusable once set

    /** Runs a collective: any failure becomes Error{WMSS_TORCH_ERR_DIST} naming it, and breaks the group. */
    template <class F>
    void run(const char *what, F &&body) {
        usable(what);
        try {
            body();
        } catch (const Error &) {
            throw;
        } catch (const c10::Error &e) {
            fail(what, e.what_without_backtrace());
        } catch (const std::exception &e) {
            fail(what, e.what());
        }
    }
    /** Throws if an earlier collective failed. */
    void usable(const char *what) const;
    [[noreturn]] void fail(const char *what, const std::string &cause);
    /** Waits for a launched collective (Gloo's own timeout applies; a backstop just past it). */
    void wait(const c10::intrusive_ptr<c10d::Work> &work) const;
    /** A host tensor as the backend wants it: itself for Gloo, a device copy for NCCL. */
    torch::Tensor stage(const torch::Tensor &host) const;
    /** Copies a staged result back to its host tensor (nothing when they are the same). */
    static void unstage(const torch::Tensor &host, const torch::Tensor &staged);
};

/** Parameters of a model in approximate backward order: head and final norm, last layer .. first, embeddings. */
std::vector<std::pair<std::string, torch::Tensor>> backward_order(const TensorMap &named);
/** Consecutive runs of tensors of one dtype with at most bucket_bytes each (a bigger tensor gets its own). */
std::vector<std::vector<size_t>> plan_buckets(const std::vector<torch::Tensor> &tensors, int64_t bucket_bytes);

}  // namespace wmss

struct wmss_torch_dist {
    std::shared_ptr<wmss::DistGroup> group;
};
