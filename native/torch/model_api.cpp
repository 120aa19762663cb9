// The plain-C face of the model layer (wmss_torch.h): handles, forward with logits that stay in native memory,
// backward from a logits-gradient buffer, AdamW. Every entry point goes through torch_guard: no exception crosses.
#include <filesystem>
#include <fstream>
#include <memory>

#include "device.h"
#include "durable.h"
#include "error.h"
#include "fused_head.h"
#include "model.h"
#include "optim.h"
#include "threads.h"
#include "zero.h"
#include "wmss_torch.h"

namespace fs = std::filesystem;

struct wmss_torch_model {
    std::unique_ptr<wmss::Decoder> net;
    torch::Tensor logits;      // [B*T, V] fp32, kept until the next forward (Java views it without a copy on the CPU)
    torch::Tensor logits_host; // their host copy, for a model on a device (Java reads and writes host memory only)
    bool graph = false;        // logits carry an autograd graph
    std::unique_ptr<torch::optim::AdamW> opt;
    wmss::DeviceSteps steps;   // the fused CUDA AdamW's step counters (optim.cpp)
    wmss::HiddenState hidden;  // the last forward_hidden (fused_head.cpp)
    std::map<std::string, std::pair<torch::Tensor, torch::Tensor>> snapshots; // host copies of device parameters
    std::unique_ptr<wmss::ZeroState> zero; // the optimizer sharded over a data-parallel group (zero.cpp), or none
};

namespace {

std::string slurp(const fs::path &p) {
    std::ifstream in(p);
    if (!in) throw wmss::Error{WMSS_ERR_ARGUMENT, "cannot open " + p.string()};
    return std::string(std::istreambuf_iterator<char>(in), {});
}

wmss_torch_model *need(wmss_torch_model *m) {
    if (!m) throw wmss::Error{WMSS_ERR_NULL_POINTER, "model handle is NULL"};
    return m;
}

/** ids and mask [batch, seq] of a forward as host tensors (the model moves them), the ids checked on the host. */
std::pair<torch::Tensor, torch::Tensor> tokens(const wmss_torch_model *m, const int64_t *ids, const int64_t *mask,
                                               int64_t batch, int64_t seq) {
    if (!ids) throw wmss::Error{WMSS_ERR_NULL_POINTER, "ids is NULL"};
    if (batch < 1 || seq < 1) throw wmss::Error{WMSS_ERR_SHAPE, "batch and seq must be >= 1"};
    const int64_t V = m->net->config().vocab_size;
    auto id = torch::from_blob(const_cast<int64_t *>(ids), {batch, seq}, torch::kInt64);
    if (((id < 0) | (id >= V)).any().item<bool>())
        throw wmss::Error{WMSS_ERR_LABEL, "token id outside [0, " + std::to_string(V) + ")"};
    auto mk = mask ? torch::from_blob(const_cast<int64_t *>(mask), {batch, seq}, torch::kInt64)
                   : torch::ones({batch, seq}, torch::kInt64);
    return {id, mk};
}

}  // namespace

extern "C" {

int wmss_torch_model_init(const char *config_json, uint64_t seed, wmss_torch_model **out) {
    return wmss::torch_guard("wmss_torch_model_init", [&] {
        if (!config_json || !out) throw wmss::Error{WMSS_ERR_NULL_POINTER, "config_json and out are required"};
        *out = nullptr;
        torch::manual_seed(seed);
        const auto cfg = wmss::ModelConfig::parse(config_json, "config");
        wmss::require_memory(4.0 * (double)cfg.parameter_count("config"),
                             "config: a model of " + std::to_string(cfg.parameter_count("config")) + " fp32 parameters");
        auto m = std::make_unique<wmss_torch_model>();
        m->net = std::make_unique<wmss::Decoder>(cfg);
        *out = m.release();
    });
}

namespace {

/**
 * A model read from a checkpoint directory straight into place: its parameters allocated on device (uninitialised,
 * no random model first) and filled one tensor at a time from the files, so that the host holds one tensor beyond the
 * parameters (none of them when they are on a device). Everything is checked before anything is allocated: the config
 * against the tensor index, then memory.
 */
wmss_torch_model *load_model(const char *dir, const torch::Device &device, c10::ScalarType compute) {
    if (!dir) throw wmss::Error{WMSS_ERR_NULL_POINTER, "dir is NULL"};
    const fs::path d(dir);
    if (!fs::is_directory(d)) throw wmss::Error{WMSS_ERR_ARGUMENT, std::string(dir) + " is not a directory"};
    const std::string where = (d / "config.json").string();
    const auto cfg = wmss::ModelConfig::parse(slurp(d / "config.json"), where);
    const auto index = wmss::read_checkpoint_index(dir);
    wmss::check_against_index(cfg, index, where);
    double largest = 0;
    for (const auto &kv : index) largest = std::max(largest, (double)kv.second.bytes);
    const int64_t n = cfg.parameter_count(where);
    wmss::require_memory((device.is_cpu() ? 4.0 * (double)n : 0.0) + largest,
                         "loading " + std::string(dir) + " (" + std::to_string(n) + " parameters)");
    auto m = std::make_unique<wmss_torch_model>();
    m->net = std::make_unique<wmss::Decoder>(cfg, device);
    m->net->load_weights(dir);
    m->net->to(device, compute); // the parameters are there already: this sets the compute dtype
    return m.release();
}

}  // namespace

int wmss_torch_model_load(const char *dir, wmss_torch_model **out) {
    return wmss::torch_guard("wmss_torch_model_load", [&] {
        if (!out) throw wmss::Error{WMSS_ERR_NULL_POINTER, "out is required"};
        *out = nullptr;
        *out = load_model(dir, torch::kCPU, torch::kFloat32);
    });
}

int wmss_torch_model_load_to(const char *dir, const char *device, int precision, wmss_torch_model **out) {
    return wmss::torch_guard("wmss_torch_model_load_to", [&] {
        if (!out || !device) throw wmss::Error{WMSS_ERR_NULL_POINTER, "device and out are required"};
        *out = nullptr;
        if (precision != WMSS_DTYPE_F32 && precision != WMSS_DTYPE_BF16)
            throw wmss::Error{WMSS_ERR_DTYPE, "precision must be WMSS_DTYPE_F32 or WMSS_DTYPE_BF16, got " +
                                                  std::to_string(precision)};
        *out = load_model(dir, wmss::parse_device(device), precision == WMSS_DTYPE_BF16 ? torch::kBFloat16 : torch::kFloat32);
    });
}

int wmss_torch_model_save_as(wmss_torch_model *m, const char *dir, int dtype, int64_t max_shard_bytes) {
    return wmss::torch_guard("wmss_torch_model_save_as", [&] {
        need(m);
        if (!dir) throw wmss::Error{WMSS_ERR_NULL_POINTER, "dir is NULL"};
        if (dtype != WMSS_DTYPE_F32 && dtype != WMSS_DTYPE_BF16)
            throw wmss::Error{WMSS_ERR_DTYPE, "dtype must be WMSS_DTYPE_F32 or WMSS_DTYPE_BF16"};
        // a diverged model is refused before the old files below are removed (write_checkpoint checks again)
        for (const auto &kv : m->net->named()) wmss::require_finite(kv.first, kv.second, "refusing to write " + std::string(dir));
        fs::create_directories(dir);
        const fs::path d(dir);
        // A previous save in another layout would leave stale files that loaders could pick up.
        for (const auto &e : fs::directory_iterator(d)) {
            const std::string f = e.path().filename().string();
            if (f == "model.safetensors" || f == "model.safetensors.index.json" ||
                (f.rfind("model-", 0) == 0 && e.path().extension() == ".safetensors"))
                fs::remove(e.path());
        }
        wmss::write_checkpoint(dir, m->net->named(), dtype == WMSS_DTYPE_BF16 ? torch::kBFloat16 : torch::kFloat32,
                               max_shard_bytes);
        wmss::write_text_durably((d / "config.json").string(),
                                 m->net->config().to_json(dtype == WMSS_DTYPE_BF16 ? "bfloat16" : "float32") + "\n");
    });
}

int wmss_torch_model_save(wmss_torch_model *m, const char *dir) { return wmss_torch_model_save_as(m, dir, WMSS_DTYPE_F32, 0); }

int wmss_torch_model_free(wmss_torch_model *m) {
    return wmss::torch_guard("wmss_torch_model_free", [&] { delete m; });
}

int wmss_torch_model_info(wmss_torch_model *m, int64_t *vocab, int64_t *parameters) {
    return wmss::torch_guard("wmss_torch_model_info", [&] {
        need(m);
        if (vocab) *vocab = m->net->config().vocab_size;
        if (parameters) {
            int64_t n = 0;
            for (const auto &p : m->net->parameters()) n += p.numel();
            *parameters = n;
        }
    });
}

int wmss_torch_model_forward(wmss_torch_model *m, const int64_t *ids, const int64_t *mask, int64_t batch,
                             int64_t seq, int with_grad, float **logits) {
    return wmss::torch_guard("wmss_torch_model_forward", [&] {
        need(m);
        if (!logits) throw wmss::Error{WMSS_ERR_NULL_POINTER, "logits is NULL"};
        const auto [id, mk] = tokens(m, ids, mask, batch, seq);
        const int64_t V = m->net->config().vocab_size;
        m->logits = torch::Tensor();
        m->logits_host = torch::Tensor();
        m->hidden = wmss::HiddenState();
        wmss::use_all_cores();
        torch::AutoGradMode grad_mode(with_grad != 0);
        m->logits = m->net->forward(id, mk).reshape({batch * seq, V}).contiguous();
        m->graph = with_grad != 0;
        if (m->logits.is_cpu()) {
            *logits = m->logits.data_ptr<float>();
        } else { // a device model: Java gets a host copy (the full-logits reference path; the fused head needs none)
            m->logits_host = m->logits.to(torch::kCPU);
            *logits = m->logits_host.data_ptr<float>();
        }
    });
}

int wmss_torch_model_forward_hidden(wmss_torch_model *m, const int64_t *ids, const int64_t *mask, int64_t batch,
                                    int64_t seq, int with_grad, float **hidden, int64_t *hidden_size) {
    return wmss::torch_guard("wmss_torch_model_forward_hidden", [&] {
        need(m);
        const auto [id, mk] = tokens(m, ids, mask, batch, seq);
        const int64_t H = m->net->config().hidden_size;
        wmss::release_logits(m);
        wmss::HiddenState &st = m->hidden;
        st = wmss::HiddenState();
        wmss::use_all_cores();
        torch::AutoGradMode grad_mode(with_grad != 0);
        st.hidden = m->net->hidden(id, mk).reshape({batch * seq, H}).contiguous();
        st.graph = with_grad != 0 && st.hidden.requires_grad();
        if (hidden) {
            if (st.hidden.is_cpu() && st.hidden.scalar_type() == torch::kFloat32) {
                *hidden = st.hidden.data_ptr<float>(); // a view
            } else { // a device or bf16 model: a host fp32 copy
                st.host = st.hidden.detach().to(torch::kCPU, torch::kFloat32);
                *hidden = st.host.data_ptr<float>();
            }
        }
        if (hidden_size) *hidden_size = H;
    });
}

int wmss_torch_model_backward_hidden(wmss_torch_model *m, const float *grad_hidden) {
    return wmss::torch_guard("wmss_torch_model_backward_hidden", [&] {
        need(m);
        if (!grad_hidden) throw wmss::Error{WMSS_ERR_NULL_POINTER, "grad_hidden is NULL"};
        wmss::HiddenState &st = m->hidden;
        if (!st.graph) throw wmss::Error{WMSS_ERR_ARGUMENT, "no forward_hidden with gradients to go back through"};
        wmss::use_all_cores();
        auto g = torch::from_blob(const_cast<float *>(grad_hidden), st.hidden.sizes(), torch::kFloat32);
        st.hidden.backward(g.to(st.hidden.device(), st.hidden.scalar_type()));
        st = wmss::HiddenState();
    });
}

int wmss_torch_model_backward(wmss_torch_model *m, const float *grad_logits) {
    return wmss::torch_guard("wmss_torch_model_backward", [&] {
        need(m);
        if (!grad_logits) throw wmss::Error{WMSS_ERR_NULL_POINTER, "grad_logits is NULL"};
        if (!m->graph) throw wmss::Error{WMSS_ERR_ARGUMENT, "no forward with gradients to go back through"};
        // The gradient may live in the logits buffer itself (the fused kernel works in place): the linear head's
        // backward needs its inputs and weights, not its output, so overwriting the logits is safe.
        auto g = torch::from_blob(const_cast<float *>(grad_logits), m->logits.sizes(), torch::kFloat32);
        wmss::use_all_cores();
        m->logits.backward(g.to(m->logits.device()));
        m->graph = false;
        m->logits_host = torch::Tensor();
    });
}

int wmss_torch_model_adamw(wmss_torch_model *m, double lr, double beta1, double beta2, double eps, double weight_decay) {
    return wmss::torch_guard("wmss_torch_model_adamw", [&] {
        need(m);
        if (!(lr >= 0) || !(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1) || !(eps > 0) || !(weight_decay >= 0))
            throw wmss::Error{WMSS_ERR_ARGUMENT, "AdamW needs lr >= 0, betas in [0, 1), eps > 0, weight_decay >= 0"};
        auto o = torch::optim::AdamWOptions(lr).betas({beta1, beta2}).eps(eps).weight_decay(weight_decay);
        m->opt = std::make_unique<torch::optim::AdamW>(m->net->parameters(), o);
        m->steps = wmss::DeviceSteps();
    });
}

int wmss_torch_model_step(wmss_torch_model *m, double lr, double max_grad_norm, double *grad_norm) {
    return wmss::torch_guard("wmss_torch_model_step", [&] {
        need(m);
        if (!m->opt) throw wmss::Error{WMSS_ERR_ARGUMENT, "no optimizer: call wmss_torch_model_adamw first"};
        wmss::use_all_cores();
        const double norm = m->zero ? wmss::zero_adamw_step(*m->zero, *m->opt, m->net->parameters(), lr, max_grad_norm)           // zero.cpp
                                    : wmss::adamw_step(*m->opt, m->steps, m->net->parameters(), lr, max_grad_norm); // optim.cpp
        if (grad_norm) *grad_norm = norm;
    });
}

int wmss_torch_model_grad_norm(wmss_torch_model *m, double *grad_norm) {
    return wmss::torch_guard("wmss_torch_model_grad_norm", [&] {
        need(m);
        if (!grad_norm) throw wmss::Error{WMSS_ERR_NULL_POINTER, "grad_norm is NULL"};
        wmss::use_all_cores();
        *grad_norm = wmss::grad_norm(m->net->parameters());
    });
}

int wmss_torch_model_parameter(wmss_torch_model *m, const char *name, float **data, float **grad, int64_t *numel) {
    return wmss::torch_guard("wmss_torch_model_parameter", [&] {
        need(m);
        if (!name) throw wmss::Error{WMSS_ERR_NULL_POINTER, "name is NULL"};
        const auto it = m->net->named().find(name);
        if (it == m->net->named().end()) throw wmss::Error{WMSS_ERR_ARGUMENT, std::string("no parameter named ") + name};
        torch::Tensor p = it->second;
        if (grad && !p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
        if (p.is_cpu()) { // live views
            if (data) *data = p.data_ptr<float>();
            if (grad) *grad = p.grad().data_ptr<float>();
        } else { // a device model: host snapshots, valid until the next call for this name (writes do not reach it)
            auto &snap = m->snapshots[name];
            snap.first = p.detach().to(torch::kCPU).contiguous();
            snap.second = grad ? p.grad().to(torch::kCPU).contiguous() : torch::Tensor();
            if (data) *data = snap.first.data_ptr<float>();
            if (grad) *grad = snap.second.data_ptr<float>();
        }
        if (numel) *numel = p.numel();
    });
}

int wmss_torch_model_save_optimizer(wmss_torch_model *m, const char *path) {
    return wmss::torch_guard("wmss_torch_model_save_optimizer", [&] {
        need(m);
        if (!path) throw wmss::Error{WMSS_ERR_NULL_POINTER, "path is NULL"};
        if (!m->opt) throw wmss::Error{WMSS_ERR_ARGUMENT, "no optimizer to save"};
        if (m->zero) return wmss::zero_save(*m->zero, path); // this rank's shard
        torch::serialize::OutputArchive archive;
        wmss::save_adamw(*m->opt, m->net->named(), archive); // by name, host tensors: resumes on any device and build
        // through a sink that never reports a short write to libtorch (its writer would throw from a destructor and
        // terminate the process on a full disk): the failure is reported here, naming the file
        wmss::SinkFile file(path);
        archive.save_to([&file](const void *data, size_t n) { return file.write(data, n); });
        file.commit();
    });
}

int wmss_torch_model_load_optimizer(wmss_torch_model *m, const char *path) {
    return wmss::torch_guard("wmss_torch_model_load_optimizer", [&] {
        need(m);
        if (!path) throw wmss::Error{WMSS_ERR_NULL_POINTER, "path is NULL"};
        if (!m->opt) throw wmss::Error{WMSS_ERR_ARGUMENT, "create the optimizer (wmss_torch_model_adamw) before loading its state"};
        if (!fs::exists(path)) throw wmss::Error{WMSS_ERR_ARGUMENT, std::string("optimizer state not found: ") + path};
        torch::serialize::InputArchive archive;
        try {
            archive.load_from(path);
            wmss::load_adamw(*m->opt, m->net->named(), archive, path);
            if (m->zero) wmss::zero_from_whole(*m->zero, *m->opt); // a whole state (ZeRO off) cut to this rank's shard
        } catch (const c10::Error &e) { // libtorch's message does not say which file
            throw wmss::Error{WMSS_ERR_ARGUMENT, std::string(path) + ": not a readable optimizer state (truncated or "
                                                 "corrupt): " + e.what_without_backtrace()};
        }
        wmss::adamw_state_to(*m->opt, m->net->device()); // the moments live where the parameters do
        m->steps = wmss::DeviceSteps();
    });
}

int wmss_torch_model_to(wmss_torch_model *m, const char *device, int precision) {
    return wmss::torch_guard("wmss_torch_model_to", [&] {
        need(m);
        if (!device) throw wmss::Error{WMSS_ERR_NULL_POINTER, "device is NULL"};
        if (precision != WMSS_DTYPE_F32 && precision != WMSS_DTYPE_BF16)
            throw wmss::Error{WMSS_ERR_DTYPE, "precision must be WMSS_DTYPE_F32 or WMSS_DTYPE_BF16, got " +
                                                  std::to_string(precision)};
        const torch::Device d = wmss::parse_device(device);
        m->logits = torch::Tensor();
        m->logits_host = torch::Tensor();
        m->graph = false;
        m->hidden = wmss::HiddenState();
        m->snapshots.clear();
        m->net->to(d, precision == WMSS_DTYPE_BF16 ? torch::kBFloat16 : torch::kFloat32);
        if (m->opt) wmss::adamw_state_to(*m->opt, d);
        m->steps = wmss::DeviceSteps();
    });
}

int wmss_torch_model_device(wmss_torch_model *m, int *device_type, int *device_index, int *precision) {
    return wmss::torch_guard("wmss_torch_model_device", [&] {
        need(m);
        const torch::Device d = m->net->device();
        if (device_type) *device_type = d.is_cuda() ? WMSS_TORCH_DEVICE_CUDA : WMSS_TORCH_DEVICE_CPU;
        if (device_index) *device_index = d.is_cuda() ? (d.has_index() ? d.index() : 0) : -1;
        if (precision) *precision = m->net->compute_dtype() == torch::kBFloat16 ? WMSS_DTYPE_BF16 : WMSS_DTYPE_F32;
    });
}

int wmss_torch_model_set_trainable(wmss_torch_model *m, int trainable) {
    return wmss::torch_guard("wmss_torch_model_set_trainable", [&] {
        need(m);
        for (auto &p : m->net->parameters()) {
            p.set_requires_grad(trainable != 0);
            if (!trainable) p.mutable_grad().reset(); // AdamW skips parameters without a gradient
        }
    });
}

int wmss_torch_model_set_checkpointing(wmss_torch_model *m, int on) {
    return wmss::torch_guard("wmss_torch_model_set_checkpointing", [&] { need(m)->net->set_checkpointing(on != 0); });
}

}  // extern "C"

const wmss::TensorMap &wmss::model_parameters(wmss_torch_model *m) { return need(m)->net->named(); }
wmss::Decoder &wmss::decoder_of(wmss_torch_model *m) { return *need(m)->net; }
wmss::HiddenState &wmss::hidden_of(wmss_torch_model *m) { return need(m)->hidden; }
void wmss::release_logits(wmss_torch_model *m) {
    need(m)->logits = torch::Tensor();
    m->logits_host = torch::Tensor();
    m->graph = false;
}

extern "C" {

int wmss_torch_model_zero(wmss_torch_model *m, wmss_torch_dist *pg, int stage) {
    return wmss::torch_guard("wmss_torch_model_zero", [&] {
        need(m);
        if (!m->opt) throw wmss::Error{WMSS_ERR_ARGUMENT, "no optimizer: call wmss_torch_model_adamw first"};
        if (stage == 0) {
            if (m->zero) throw wmss::Error{WMSS_ERR_ARGUMENT, "a sharded optimizer cannot be made whole again here"};
            return;
        }
        if (!pg || !pg->group) throw wmss::Error{WMSS_ERR_NULL_POINTER, "process group handle is NULL"};
        if (!m->opt->state().empty())
            throw wmss::Error{WMSS_ERR_ARGUMENT, "shard the optimizer before its first step or load"};
        m->zero = wmss::zero_shard(pg->group, m->net->named(), stage);
    });
}

int wmss_torch_model_zero_info(wmss_torch_model *m, int64_t *out4) {
    return wmss::torch_guard("wmss_torch_model_zero_info", [&] {
        need(m);
        if (!out4) throw wmss::Error{WMSS_ERR_NULL_POINTER, "out4 is NULL"};
        const auto &z = m->zero;
        out4[0] = z ? z->stage : 0;
        out4[1] = z ? z->lo : 0;
        out4[2] = z ? z->hi : 0;
        out4[3] = z ? z->total : 0;
    });
}

int wmss_torch_model_load_optimizer_shards(wmss_torch_model *m, const char *dir, int *written_world) {
    return wmss::torch_guard("wmss_torch_model_load_optimizer_shards", [&] {
        need(m);
        if (!dir) throw wmss::Error{WMSS_ERR_NULL_POINTER, "dir is NULL"};
        if (!m->opt) throw wmss::Error{WMSS_ERR_ARGUMENT, "create the optimizer (wmss_torch_model_adamw) before loading its state"};
        std::vector<std::string> files;
        if (fs::is_directory(dir))
            for (const auto &e : fs::directory_iterator(dir)) {
                const std::string f = e.path().filename().string();
                if (f.rfind("optimizer.zero-", 0) == 0 && e.path().extension() == ".pt") files.push_back(e.path().string());
            }
        std::sort(files.begin(), files.end());
        if (files.empty()) throw wmss::Error{WMSS_ERR_ARGUMENT, std::string("no optimizer shards (optimizer.zero-*.pt) in ") + dir};
        int world;
        if (m->zero) {
            world = wmss::zero_load(*m->zero, files);
        } else {
            wmss::zero_shards_to_whole(files, *m->opt, m->net->named());
            world = (int)files.size();
        }
        if (written_world) *written_world = world;
    });
}

}  // extern "C"
