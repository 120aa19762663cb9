// ZeRO stage 1 of one model over a data-parallel group (zero.cpp): the optimizer's state sharded, the update computed
// by each rank for its shard of the parameters, the updated parameters all-gathered.
#pragma once
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "dist.h"

namespace wmss {

/**
 * The flat parameter space of a model (its parameters in name order, one after the other) cut into world equal
 * contiguous slices, one per rank (a tensor may straddle two): this rank keeps AdamW's moments for its slice only.
 */
struct ZeroState {
    std::shared_ptr<DistGroup> group;
    int stage = 1;
    std::vector<std::string> names;
    std::vector<torch::Tensor> params;
    std::vector<int64_t> offset; // each parameter's first flat index
    int64_t total = 0, lo = 0, hi = 0;
    torch::Tensor exp_avg, exp_avg_sq; // [hi - lo] fp32 on the parameters' device
    int64_t step = 0;

    /** Rank r's slice [lo, hi) of total elements over world ranks: equal to within one element. */
    static std::pair<int64_t, int64_t> slice(int64_t total, int r, int world) {
        return {total * r / world, total * (r + 1) / world};
    }
};

/** Shards the optimizer of a model's parameters (named: in name order) over group at ZeRO stage 1. */
std::unique_ptr<ZeroState> zero_shard(const std::shared_ptr<DistGroup> &group, const TensorMap &named, int stage);

/**
 * One AdamW step of the sharded model, the same arithmetic element by element as the fused CPU step (optim.cpp): the
 * global gradient norm (every rank holds the summed gradients), the clip, this rank's slice updated, every gradient
 * zeroed, the updated slices all-gathered into every rank's parameters. all: the model's parameters in the order the
 * unsharded step sums the norm in. Returns the norm before clipping.
 */
double zero_adamw_step(ZeroState &z, torch::optim::AdamW &opt, const std::vector<torch::Tensor> &all, double lr,
                       double max_grad_norm);

/** This rank's optimizer shard to a file (crash-safe: through a temporary file and a rename). */
void zero_save(const ZeroState &z, const std::string &path);

/**
 * This rank's shard from the shards the ranks of a checkpoint wrote (files: every shard, of any world size: they are
 * cut again for this one). Returns the world size the files were written with.
 */
int zero_load(ZeroState &z, const std::vector<std::string> &files);

/** This rank's shard taken from a whole optimizer state (ZeRO off) loaded into opt; opt's state is then released. */
void zero_from_whole(ZeroState &z, torch::optim::AdamW &opt);

/** The whole optimizer state assembled from every shard of a checkpoint into opt (resuming with ZeRO off). */
void zero_shards_to_whole(const std::vector<std::string> &files, torch::optim::AdamW &opt, const TensorMap &named);

}  // namespace wmss
