// Data parallel on libtorch's c10d (wmss_torch.h, "data parallel"): the process group and the collectives on
// host buffers. The group forms over a TCPStore served by rank 0 (torchrun's MASTER_ADDR / MASTER_PORT); Gloo
// carries CPU tensors, NCCL (when the libtorch found at build time has it) CUDA tensors.
#include "dist.h"

#include <torch/csrc/distributed/c10d/HashStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef WMSS_HAVE_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef WMSS_HAVE_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>
#include <sstream>

namespace {

using wmss::Error;

const char *ENV_HELP =
    " (run under `wmss-native launch`, torchrun or Slurm, or set RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)";

int env_int(const char *name, int fallback, bool required) {
    const char *v = std::getenv(name);
    if (!v || !*v) {
        if (required) throw Error{WMSS_ERR_ARGUMENT, std::string(name) + " is not set" + ENV_HELP};
        return fallback;
    }
    char *end = nullptr;
    const long x = std::strtol(v, &end, 10);
    if (*end || x < 0 || x > 1 << 30)
        throw Error{WMSS_ERR_ARGUMENT, std::string(name) + "=" + v + " is not a non-negative integer"};
    return static_cast<int>(x);
}

bool loopback(const std::string &addr) {
    return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

#ifdef WMSS_HAVE_GLOO
std::vector<std::shared_ptr<gloo::transport::Device>> gloo_devices(const std::string &master) {
    std::vector<std::shared_ptr<gloo::transport::Device>> out;
    if (master.empty() || loopback(master)) {
        out.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
    } else if (const char *ifs = std::getenv("GLOO_SOCKET_IFNAME"); ifs && *ifs) {
        std::stringstream ss(ifs);
        for (std::string name; std::getline(ss, name, ',');)
            if (!name.empty()) out.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
    } else {
        out.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
    }
    return out;
}
#endif

torch::ScalarType scalar(int type) {
    switch (type) {
    case WMSS_TORCH_DIST_U8: return torch::kUInt8;
    case WMSS_TORCH_DIST_I64: return torch::kInt64;
    case WMSS_TORCH_DIST_F32: return torch::kFloat32;
    case WMSS_TORCH_DIST_F64: return torch::kFloat64;
    default: throw Error{WMSS_ERR_DTYPE, "unknown wmss_torch_dist_type " + std::to_string(type)};
    }
}

c10d::ReduceOp reduce_op(int op, torch::ScalarType t) {
    switch (op) {
    case WMSS_TORCH_DIST_SUM: return c10d::ReduceOp::SUM;
    case WMSS_TORCH_DIST_AVG:
        if (!c10::isFloatingType(t)) throw Error{WMSS_ERR_ARGUMENT, "WMSS_TORCH_DIST_AVG needs a floating type"};
        return c10d::ReduceOp::SUM; // divided afterwards: Gloo has no AVG
    case WMSS_TORCH_DIST_MIN: return c10d::ReduceOp::MIN;
    case WMSS_TORCH_DIST_MAX: return c10d::ReduceOp::MAX;
    default: throw Error{WMSS_ERR_ARGUMENT, "unknown wmss_torch_dist_op " + std::to_string(op)};
    }
}

wmss::DistGroup &need(wmss_torch_dist *pg) {
    if (!pg || !pg->group) throw Error{WMSS_ERR_NULL_POINTER, "process group handle is NULL"};
    return *pg->group;
}

torch::Tensor host(const void *data, int64_t count, torch::ScalarType t) {
    if (count < 0) throw Error{WMSS_ERR_SHAPE, "count must be >= 0"};
    if (count > 0 && !data) throw Error{WMSS_ERR_NULL_POINTER, "data is NULL"};
    if (count == 0) return torch::empty({0}, t);
    return torch::from_blob(const_cast<void *>(data), {count}, t);
}

bool gloo_built() {
#ifdef WMSS_HAVE_GLOO
    return true;
#else
    return false;
#endif
}

bool nccl_built() {
#ifdef WMSS_HAVE_NCCL
    return true;
#else
    return false;
#endif
}

}  // namespace

// ---------------------------------------------------------------- DistGroup

void wmss::DistGroup::usable(const char *what) const {
    if (!broken.empty())
        throw Error{WMSS_TORCH_ERR_DIST, std::string(what) + ": this process group failed earlier and cannot be used "
                                         "again (" + broken + ")"};
}

void wmss::DistGroup::fail(const char *what, const std::string &cause) {
    std::ostringstream m;
    m << what << " failed on rank " << rank << " of " << world << " (" << backend << ", timeout "
      << timeout.count() / 1000.0 << " s): " << cause
      << " -- another rank exited, hung past the timeout, or the network failed; this group cannot be used again";
    broken = cause;
    throw Error{WMSS_TORCH_ERR_DIST, m.str()};
}

void wmss::DistGroup::wait(const c10::intrusive_ptr<c10d::Work> &work) const {
    work->wait(timeout + std::chrono::seconds(10));
}

torch::Tensor wmss::DistGroup::stage(const torch::Tensor &t) const {
    return t.device() == device ? t : t.to(device);
}

void wmss::DistGroup::unstage(const torch::Tensor &host, const torch::Tensor &staged) {
    if (!staged.is_same(host)) host.copy_(staged);
}

// ---------------------------------------------------------------- C ABI

extern "C" {

int wmss_torch_dist_available(const char *backend, int *available) {
    return wmss::torch_guard("wmss_torch_dist_available", [&] {
        if (!backend || !available) throw Error{WMSS_ERR_NULL_POINTER, "backend and available are required"};
        const std::string b(backend);
        *available = (b == "gloo" && gloo_built()) || (b == "nccl" && nccl_built()) ? 1 : 0;
    });
}

int wmss_torch_dist_init(const char *backend, const char *master_addr, int master_port, int rank, int world_size,
                         int local_rank, int64_t timeout_ms, wmss_torch_dist **out) {
    return wmss::torch_guard("wmss_torch_dist_init", [&] {
        if (!out) throw Error{WMSS_ERR_NULL_POINTER, "out is NULL"};
        *out = nullptr;
        auto g = std::make_shared<wmss::DistGroup>();
        g->backend = backend ? backend : "gloo";
        if (g->backend != "gloo" && g->backend != "nccl")
            throw Error{WMSS_ERR_ARGUMENT, "unknown backend '" + g->backend + "' (gloo or nccl)"};
        if (g->backend == "gloo" && !gloo_built())
            throw Error{WMSS_ERR_UNSUPPORTED, "this libwmss_torch was built without Gloo (no gloo headers where it was "
                                              "built, e.g. a PyTorch wheel's libtorch); use nccl on CUDA"};
        if (g->backend == "nccl" && !nccl_built())
            throw Error{WMSS_ERR_UNSUPPORTED, "this libwmss_torch was built without NCCL (its libtorch has no "
                                              "ProcessGroupNCCL); use gloo, or rebuild against a CUDA libtorch"};
        if (timeout_ms < 0) throw Error{WMSS_ERR_ARGUMENT, "timeout_ms must be >= 0 (0: the default)"};
        g->timeout = std::chrono::milliseconds(timeout_ms ? timeout_ms : WMSS_TORCH_DIST_DEFAULT_TIMEOUT_MS);
        g->world = world_size > 0 ? world_size : env_int("WORLD_SIZE", 1, true);
        g->rank = rank >= 0 ? rank : env_int("RANK", 0, true);
        g->local_rank = local_rank >= 0 ? local_rank : env_int("LOCAL_RANK", 0, false);
        if (g->rank >= g->world)
            throw Error{WMSS_ERR_ARGUMENT, "rank " + std::to_string(g->rank) + " outside world size " +
                                               std::to_string(g->world)};
        std::string addr = "(in process)";
        int port = 0;
        if (g->world > 1) {
            addr = master_addr ? master_addr : "";
            if (addr.empty()) {
                const char *e = std::getenv("MASTER_ADDR");
                if (!e || !*e) throw Error{WMSS_ERR_ARGUMENT, std::string("MASTER_ADDR is not set") + ENV_HELP};
                addr = e;
            }
            port = master_port > 0 ? master_port : env_int("MASTER_PORT", 0, true);
            if (port < 1 || port > 65535) throw Error{WMSS_ERR_ARGUMENT, "MASTER_PORT must be in 1..65535"};
        }
        try {
            if (g->world == 1) {
                g->store = c10::make_intrusive<c10d::HashStore>(); // a world of one needs no network
            } else {
                c10d::TCPStoreOptions so;
                so.port = static_cast<uint16_t>(port);
                so.isServer = g->rank == 0;
                so.numWorkers = g->world;
                so.waitWorkers = true;
                so.timeout = g->timeout;
                g->store = c10::make_intrusive<c10d::TCPStore>(addr, so);
            }
            g->store->setTimeout(g->timeout);
            if (g->backend == "gloo") {
#ifdef WMSS_HAVE_GLOO
                auto o = c10d::ProcessGroupGloo::Options::create(g->timeout);
                o->devices = gloo_devices(g->world == 1 ? "" : addr);
                g->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(g->store, g->rank, g->world, o);
#endif
            } else {
#ifdef WMSS_HAVE_NCCL
                setenv("NCCL_BLOCKING_WAIT", "1", 0); // a timed-out collective throws instead of hanging
                c10::cuda::set_device(static_cast<c10::DeviceIndex>(g->local_rank));
                g->device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(g->local_rank));
                auto o = c10d::ProcessGroupNCCL::Options::create();
                o->timeout = g->timeout;
                g->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(g->store, g->rank, g->world, o);
#endif
            }
        } catch (const std::exception &e) {
            const auto *ce = dynamic_cast<const c10::Error *>(&e);
            std::ostringstream m;
            m << "rank " << g->rank << " of " << g->world << " could not form the " << g->backend << " group at "
              << addr << ":" << port << " within " << g->timeout.count() / 1000.0
              << " s: " << (ce ? ce->what_without_backtrace() : e.what())
              << " (are all ranks started, with the same MASTER_ADDR and MASTER_PORT, and is that port free on the "
                 "master?)";
            throw Error{WMSS_TORCH_ERR_DIST, m.str()};
        }
        *out = new wmss_torch_dist{std::move(g)};
    });
}

int wmss_torch_dist_free(wmss_torch_dist *pg) {
    return wmss::torch_guard("wmss_torch_dist_free", [&] { delete pg; });
}

int wmss_torch_dist_info(wmss_torch_dist *pg, int *rank, int *world_size, int *local_rank) {
    return wmss::torch_guard("wmss_torch_dist_info", [&] {
        const auto &g = need(pg);
        if (rank) *rank = g.rank;
        if (world_size) *world_size = g.world;
        if (local_rank) *local_rank = g.local_rank;
    });
}

int wmss_torch_dist_barrier(wmss_torch_dist *pg) {
    return wmss::torch_guard("wmss_torch_dist_barrier", [&] {
        auto &g = need(pg);
        g.run("barrier", [&] { g.wait(g.pg->barrier()); });
    });
}

int wmss_torch_dist_allreduce(wmss_torch_dist *pg, int type, void *data, int64_t count, int op) {
    return wmss::torch_guard("wmss_torch_dist_allreduce", [&] {
        auto &g = need(pg);
        const auto t = scalar(type);
        c10d::AllreduceOptions o;
        o.reduceOp = reduce_op(op, t);
        const auto h = host(data, count, t);
        g.usable("allreduce");
        if (count == 0) return;
        g.run("allreduce", [&] {
            std::vector<torch::Tensor> v{g.stage(h)};
            g.wait(g.pg->allreduce(v, o));
            if (op == WMSS_TORCH_DIST_AVG) v[0].div_(g.world);
            wmss::DistGroup::unstage(h, v[0]);
        });
    });
}

int wmss_torch_dist_broadcast(wmss_torch_dist *pg, int type, void *data, int64_t count, int root) {
    return wmss::torch_guard("wmss_torch_dist_broadcast", [&] {
        auto &g = need(pg);
        const auto h = host(data, count, scalar(type));
        if (root < 0 || root >= g.world) throw Error{WMSS_ERR_ARGUMENT, "root " + std::to_string(root) + " outside the group"};
        g.usable("broadcast");
        if (count == 0) return;
        g.run("broadcast", [&] {
            std::vector<torch::Tensor> v{g.stage(h)};
            c10d::BroadcastOptions o;
            o.rootRank = root;
            g.wait(g.pg->broadcast(v, o));
            wmss::DistGroup::unstage(h, v[0]);
        });
    });
}

int wmss_torch_dist_allgather(wmss_torch_dist *pg, int type, const void *in, int64_t count, void *out) {
    return wmss::torch_guard("wmss_torch_dist_allgather", [&] {
        auto &g = need(pg);
        const auto t = scalar(type);
        const auto src = host(in, count, t);
        if (count > 0 && !out) throw Error{WMSS_ERR_NULL_POINTER, "out is NULL"};
        g.usable("allgather");
        if (count == 0) return;
        const auto dst = host(out, count * g.world, t);
        g.run("allgather", [&] {
            std::vector<torch::Tensor> input{g.stage(src)};
            std::vector<std::vector<torch::Tensor>> output(1);
            const auto staged = g.stage(dst);
            for (int r = 0; r < g.world; r++) output[0].push_back(staged.narrow(0, r * count, count));
            g.wait(g.pg->allgather(output, input));
            wmss::DistGroup::unstage(dst, staged);
        });
    });
}

int wmss_torch_dist_allgatherv(wmss_torch_dist *pg, int type, const void *in, const int64_t *counts, void *out) {
    return wmss::torch_guard("wmss_torch_dist_allgatherv", [&] {
        auto &g = need(pg);
        const auto t = scalar(type);
        if (!counts) throw Error{WMSS_ERR_NULL_POINTER, "counts is NULL"};
        int64_t total = 0, longest = 0;
        for (int r = 0; r < g.world; r++) {
            if (counts[r] < 0) throw Error{WMSS_ERR_SHAPE, "counts[" + std::to_string(r) + "] < 0"};
            total += counts[r];
            longest = std::max(longest, counts[r]);
        }
        const auto src = host(in, counts[g.rank], t);
        if (total > 0 && !out) throw Error{WMSS_ERR_NULL_POINTER, "out is NULL"};
        g.usable("allgatherv");
        if (longest == 0) return;
        const auto dst = host(out, total, t);
        g.run("allgatherv", [&] {
            // Gloo gathers equal lengths: pad every contribution to the longest, then drop the padding.
            auto padded = torch::zeros({longest}, torch::TensorOptions().dtype(t).device(g.device));
            padded.narrow(0, 0, counts[g.rank]).copy_(src);
            auto all = torch::empty({longest * g.world}, padded.options());
            std::vector<torch::Tensor> input{padded};
            std::vector<std::vector<torch::Tensor>> output(1);
            for (int r = 0; r < g.world; r++) output[0].push_back(all.narrow(0, r * longest, longest));
            g.wait(g.pg->allgather(output, input));
            int64_t at = 0;
            for (int r = 0; r < g.world; r++) {
                dst.narrow(0, at, counts[r]).copy_(all.narrow(0, r * longest, counts[r]));
                at += counts[r];
            }
        });
    });
}

}  // extern "C"
