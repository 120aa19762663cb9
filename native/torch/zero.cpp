// ZeRO stage 1 (DeepSpeed's meaning) over c10d: AdamW's moments sharded over the data-parallel ranks. Every rank holds
// the summed gradients (the existing bucketed all-reduce) and the whole parameters; each updates its slice of the flat
// parameter space with the fused CPU step's arithmetic, element by element (optim.cpp), then the slices are
// all-gathered (Gloo's list all-gather, contributions padded to equal length). The moments take 8 bytes per
// parameter / world instead of 8; the parameters after a step are those of ZeRO off, bit for bit.
#include "zero.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "durable.h"
#include "error.h"
#include "compat.h"
#include "optim.h"

namespace fs = std::filesystem;

namespace {

using wmss::Error;

constexpr int64_t kShardFormat = 1;

constexpr int64_t kGatherChunk = int64_t(1) << 22; // elements per rank and all-gather round (16 MiB of fp32; the planner: MemoryPlan.ZERO_GATHER_ELEMENTS)

bool cpu_fp32(const torch::Tensor &p) {
    return p.device().is_cpu() && p.scalar_type() == torch::kFloat32 && p.is_contiguous();
}

/**
 * The flat range [a, b) as pieces of parameters: f(pointer to the piece's first element, its offset from a, length).
 */
template <class F>
void each_piece(wmss::ZeroState &z, int64_t a, int64_t b, F &&f) {
    for (size_t i = 0; i < z.params.size() && a < b; i++) {
        const int64_t from = std::max(a, z.offset[i]), to = std::min(b, z.offset[i] + z.params[i].numel());
        if (from < to) f(z.params[i].data_ptr<float>() + (from - z.offset[i]), from - a, to - from);
    }
}

}  // namespace

std::unique_ptr<wmss::ZeroState> wmss::zero_shard(const std::shared_ptr<DistGroup> &group, const TensorMap &named, int stage) {
    if (stage != 1)
        throw Error{WMSS_ERR_UNSUPPORTED, "ZeRO stage " + std::to_string(stage) + " is not implemented (stage 1 is)"};
    if (!group) throw Error{WMSS_ERR_NULL_POINTER, "process group is NULL"};
    auto z = std::make_unique<ZeroState>();
    z->group = group;
    z->stage = stage;
    for (const auto &kv : named) {
        if (!cpu_fp32(kv.second))
            throw Error{WMSS_ERR_UNSUPPORTED, "ZeRO stage 1 runs on fp32 CPU parameters here; " + kv.first + " is not"};
        z->names.push_back(kv.first);
        z->params.push_back(kv.second);
        z->offset.push_back(z->total);
        z->total += kv.second.numel();
    }
    std::tie(z->lo, z->hi) = ZeroState::slice(z->total, group->rank, group->world);
    z->exp_avg = torch::zeros({z->hi - z->lo}, torch::kFloat32);
    z->exp_avg_sq = torch::zeros({z->hi - z->lo}, torch::kFloat32);
    return z;
}

double wmss::zero_adamw_step(ZeroState &z, torch::optim::AdamW &opt, const std::vector<torch::Tensor> &all, double lr,
                             double max_grad_norm) {
    auto &o = static_cast<torch::optim::AdamWOptions &>(opt.param_groups().at(0).options());
    o.lr(lr);
    const float total = (float)grad_norm(all); // in the unsharded step's order: the same norm, bit for bit
    if (!std::isfinite(total))
        throw Error{WMSS_ERR_NONFINITE, "the gradient norm is " + std::to_string(total) +
                                            " (NaN or inf in the gradients): the optimizer step was not taken"};
    const AdamWCoefficients c = adamw_coefficients(o, z.step + 1, clip_coefficient(max_grad_norm, total));
    float *m = z.exp_avg.data_ptr<float>(), *v = z.exp_avg_sq.data_ptr<float>();
    for (size_t i = 0; i < z.params.size(); i++) {
        const int64_t a = std::max(z.lo, z.offset[i]), b = std::min(z.hi, z.offset[i] + z.params[i].numel());
        if (a >= b || !z.params[i].grad().defined()) continue;
        adamw_update_range(z.params[i].data_ptr<float>() + (a - z.offset[i]),
                           z.params[i].mutable_grad().data_ptr<float>() + (a - z.offset[i]), m + (a - z.lo), v + (a - z.lo),
                           b - a, c);
    }
    z.step++;
    for (auto &p : z.params)
        if (p.grad().defined()) p.mutable_grad().zero_();
    // every rank's slice to every rank, in rounds of at most kGatherChunk elements per rank (Gloo gathers equal
    // lengths: the last, shorter slices are padded), so the buffers stay small whatever the model's size
    DistGroup &g = *z.group;
    const int64_t longest = z.total / g.world + 1, chunk = std::min(longest, kGatherChunk);
    auto mine = torch::zeros({chunk}, torch::kFloat32);
    auto gathered = torch::empty({chunk * g.world}, torch::kFloat32);
    torch::NoGradGuard no_grad;
    for (int64_t at = 0; at < longest; at += chunk) {
        const int64_t n = std::min(chunk, longest - at);
        float *out = mine.data_ptr<float>();
        each_piece(z, z.lo + at, std::min(z.hi, z.lo + at + n), [&](float *p, int64_t k, int64_t len) {
            std::copy(p, p + len, out + k);
        });
        g.run("zero all-gather of the updated parameters", [&] {
            std::vector<torch::Tensor> input{g.stage(mine.narrow(0, 0, n))};
            std::vector<std::vector<torch::Tensor>> output(1);
            const auto staged = g.stage(gathered);
            for (int r = 0; r < g.world; r++) output[0].push_back(staged.narrow(0, r * n, n));
            g.wait(g.pg->allgather(output, input));
            DistGroup::unstage(gathered, staged);
        });
        const float *in = gathered.data_ptr<float>();
        for (int r = 0; r < g.world; r++) {
            if (r == g.rank) continue;
            const auto [lo, hi] = ZeroState::slice(z.total, r, g.world);
            each_piece(z, lo + at, std::min(hi, lo + at + n), [&](float *p, int64_t k, int64_t len) {
                std::copy(in + r * n + k, in + r * n + k + len, p);
            });
        }
    }
    return total;
}

void wmss::zero_save(const ZeroState &z, const std::string &path) {
    torch::serialize::OutputArchive archive;
    archive.write("wmss_zero_shard_format", c10::IValue(kShardFormat));
    archive.write("rank", c10::IValue((int64_t)z.group->rank));
    archive.write("world", c10::IValue((int64_t)z.group->world));
    archive.write("total", c10::IValue(z.total));
    archive.write("lo", c10::IValue(z.lo));
    archive.write("hi", c10::IValue(z.hi));
    archive.write("step", c10::IValue(z.step));
    c10::List<std::string> names;
    c10::List<int64_t> numels;
    for (size_t i = 0; i < z.params.size(); i++) {
        names.push_back(z.names[i]);
        numels.push_back(z.params[i].numel());
    }
    archive.write("names", c10::IValue(names));
    archive.write("numels", c10::IValue(numels));
    archive.write("exp_avg", z.exp_avg);
    archive.write("exp_avg_sq", z.exp_avg_sq);
    SinkFile file(path);
    archive.save_to([&file](const void *data, size_t n) { return file.write(data, n); });
    file.commit();
}

int wmss::zero_load(ZeroState &z, const std::vector<std::string> &files) {
    if (files.empty()) throw Error{WMSS_ERR_ARGUMENT, "no optimizer state to resume from"};
    int world = -1;
    int64_t step = -1;
    std::vector<bool> covered(z.hi - z.lo, false);
    for (const std::string &path : files) {
        torch::serialize::InputArchive archive;
        try {
            archive.load_from(path);
        } catch (const c10::Error &e) {
            throw Error{WMSS_ERR_ARGUMENT, path + ": not a readable optimizer state (truncated or corrupt): " +
                                               e.what_without_backtrace()};
        }
        c10::IValue format, w, total, lo, hi, st, names, numels;
        if (!archive.try_read("wmss_zero_shard_format", format))
            throw Error{WMSS_ERR_ARGUMENT, path + ": not a ZeRO optimizer shard"};
        archive.read("world", w);
        archive.read("total", total);
        archive.read("lo", lo);
        archive.read("hi", hi);
        archive.read("step", st);
        archive.read("names", names);
        archive.read("numels", numels);
        const auto nl = names.toList();
        const auto cl = numels.toList();
        bool same = total.toInt() == z.total && nl.size() == z.names.size();
        for (size_t i = 0; same && i < z.names.size(); i++)
            same = nl.get(i).toStringRef() == z.names[i] && cl.get(i).toInt() == z.params[i].numel();
        if (!same)
            throw Error{WMSS_ERR_SHAPE, path + ": the optimizer shard is of another model (its parameters' names or sizes"
                                               " differ)"};
        if (world >= 0 && (w.toInt() != world || st.toInt() != step))
            throw Error{WMSS_ERR_ARGUMENT, path + ": a shard of another checkpoint (world size or step differs)"};
        world = (int)w.toInt();
        step = st.toInt();
        torch::Tensor m, v;
        archive.read("exp_avg", m);
        archive.read("exp_avg_sq", v);
        const int64_t a = std::max(z.lo, lo.toInt()), b = std::min(z.hi, hi.toInt());
        if (a >= b) continue;
        z.exp_avg.narrow(0, a - z.lo, b - a).copy_(m.narrow(0, a - lo.toInt(), b - a));
        z.exp_avg_sq.narrow(0, a - z.lo, b - a).copy_(v.narrow(0, a - lo.toInt(), b - a));
        std::fill(covered.begin() + (a - z.lo), covered.begin() + (b - z.lo), true);
    }
    if (std::find(covered.begin(), covered.end(), false) != covered.end())
        throw Error{WMSS_ERR_ARGUMENT, "the optimizer shards do not cover this rank's slice (a shard file is missing)"};
    z.step = step;
    return world;
}

void wmss::zero_from_whole(ZeroState &z, torch::optim::AdamW &opt) {
    int64_t step = 0;
    for (size_t i = 0; i < z.params.size(); i++) {
        const auto it = opt.state().find(compat::optimizer_key(z.params[i]));
        if (it == opt.state().end()) continue;
        const auto &st = static_cast<const torch::optim::AdamWParamState &>(*it->second);
        step = std::max<int64_t>(step, st.step());
        const int64_t a = std::max(z.lo, z.offset[i]), b = std::min(z.hi, z.offset[i] + z.params[i].numel());
        if (a >= b) continue;
        z.exp_avg.narrow(0, a - z.lo, b - a).copy_(st.exp_avg().reshape(-1).narrow(0, a - z.offset[i], b - a));
        z.exp_avg_sq.narrow(0, a - z.lo, b - a).copy_(st.exp_avg_sq().reshape(-1).narrow(0, a - z.offset[i], b - a));
    }
    z.step = step;
    opt.state().clear(); // the whole moments are of no more use: the shard holds this rank's part
}

void wmss::zero_shards_to_whole(const std::vector<std::string> &files, torch::optim::AdamW &opt, const TensorMap &named) {
    // a ZeroState over the whole flat space (one "rank" holding everything), filled from the shards
    ZeroState whole;
    for (const auto &kv : named) {
        whole.names.push_back(kv.first);
        whole.params.push_back(kv.second);
        whole.offset.push_back(whole.total);
        whole.total += kv.second.numel();
    }
    whole.lo = 0;
    whole.hi = whole.total;
    whole.exp_avg = torch::zeros({whole.total}, torch::kFloat32);
    whole.exp_avg_sq = torch::zeros({whole.total}, torch::kFloat32);
    zero_load(whole, files);
    std::remove_reference_t<decltype(opt.state())> fresh;
    for (size_t i = 0; i < whole.params.size(); i++) {
        const torch::Tensor &p = whole.params[i];
        auto st = std::make_unique<torch::optim::AdamWParamState>();
        st->step(whole.step);
        st->exp_avg(whole.exp_avg.narrow(0, whole.offset[i], p.numel()).view(p.sizes()).to(p.device()).clone());
        st->exp_avg_sq(whole.exp_avg_sq.narrow(0, whole.offset[i], p.numel()).view(p.sizes()).to(p.device()).clone());
        fresh.emplace(compat::optimizer_key(p), std::move(st));
    }
    opt.state() = std::move(fresh);
}
