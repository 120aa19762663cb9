#include "safetensors.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <ATen/Parallel.h>

#include "durable.h"
#include "error.h"

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace wmss {
namespace {

struct DType {
    const char *name;
    torch::ScalarType type;
    size_t size;
};
const DType kTypes[] = {{"F32", torch::kFloat32, 4}, {"BF16", torch::kBFloat16, 2}, {"F16", torch::kFloat16, 2},
                        {"I64", torch::kInt64, 8},   {"I32", torch::kInt32, 4}};

const DType &by_name(const std::string &n, const std::string &tensor, const std::string &path) {
    for (const auto &t : kTypes)
        if (n == t.name) return t;
    throw Error{WMSS_ERR_DTYPE, path + ": tensor " + tensor + " has unsupported dtype " + n};
}

const DType &by_type(torch::ScalarType s, const std::string &tensor) {
    for (const auto &t : kTypes)
        if (s == t.type) return t;
    throw Error{WMSS_ERR_DTYPE, "tensor " + tensor + " has a dtype safetensors output does not support here"};
}

std::string read_file(const std::string &path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error{WMSS_ERR_ARGUMENT, "cannot open " + path + ": " + std::strerror(errno)};
    return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

namespace {

struct Header {
    json header;
    size_t data_start = 0;
};

std::string shape_str(const std::vector<int64_t> &shape) {
    std::string s = "[";
    for (size_t i = 0; i < shape.size(); i++) s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + "]";
}

std::string bytes_str(uint64_t n) { return std::to_string(n) + (n == 1 ? " byte" : " bytes"); }

/** Parses and checks the header of a safetensors file whose first bytes (at least the header) are in `bytes`. */
Header parse_header(const std::string &bytes, uint64_t file_size, const std::string &path) {
    if (file_size < 8 || bytes.size() < 8)
        throw Error{WMSS_ERR_ARGUMENT, path + ": not a safetensors file (" + bytes_str(file_size) +
                                           "; the format starts with an 8-byte header length)"};
    uint64_t header_len = 0;
    std::memcpy(&header_len, bytes.data(), 8); // little endian on every platform we build for
    if (header_len > file_size - 8 || header_len > bytes.size() - 8)
        throw Error{WMSS_ERR_ARGUMENT, path + ": truncated or not a safetensors file: its first 8 bytes promise a JSON"
                                           " header of " + bytes_str(header_len) + ", but the file has " +
                                           bytes_str(file_size)};
    Header h;
    try {
        h.header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + (long)header_len);
    } catch (const json::exception &e) {
        throw Error{WMSS_ERR_ARGUMENT, path + ": malformed header: " + e.what()};
    }
    if (!h.header.is_object()) throw Error{WMSS_ERR_ARGUMENT, path + ": malformed header: not a JSON object"};
    h.data_start = 8 + header_len;
    // A file cut short (an interrupted copy or download) is named as such, with what the header promises: the end of
    // the last tensor's data, which must be the end of the file.
    uint64_t promised = 0;
    std::string last;
    for (auto it = h.header.begin(); it != h.header.end(); ++it) {
        if (it.key() == "__metadata__" || !it.value().is_object()) continue;
        const auto off = it.value().find("data_offsets");
        if (off == it.value().end() || !off->is_array() || off->size() != 2 || !(*off)[1].is_number_unsigned()) continue;
        const uint64_t end = (*off)[1].get<uint64_t>();
        if (end > promised) promised = end, last = it.key();
    }
    if (promised > file_size - h.data_start)
        throw Error{WMSS_ERR_SHAPE, path + ": truncated: the header promises " + bytes_str(h.data_start + promised) +
                                        " (" + bytes_str(h.data_start) + " of header, then " + bytes_str(promised) +
                                        " of tensor data ending with " + last + "), but the file has " +
                                        bytes_str(file_size)};
    return h;
}

/** One tensor's entry, checked against the file size (offsets, shape and dtype agree). */
TensorInfo tensor_info(const std::string &name, const json &info, size_t data_start, uint64_t file_size,
                       const std::string &path) {
    TensorInfo t;
    t.file = path;
    std::vector<uint64_t> off;
    try {
        t.dtype = info.at("dtype").get<std::string>();
        t.shape = info.at("shape").get<std::vector<int64_t>>();
        off = info.at("data_offsets").get<std::vector<uint64_t>>();
    } catch (const json::exception &e) {
        throw Error{WMSS_ERR_ARGUMENT, path + ": tensor " + name + ": malformed entry: " + e.what()};
    }
    const DType &dt = by_name(t.dtype, name, path);
    const std::string what = path + ": tensor " + name + " (" + t.dtype + ", shape " + shape_str(t.shape) + ")";
    uint64_t numel = 1;
    for (int64_t d : t.shape) {
        if (d < 0) throw Error{WMSS_ERR_SHAPE, what + ": a dimension is negative"};
        if (__builtin_mul_overflow(numel, (uint64_t)d, &numel) || __builtin_mul_overflow(numel, (uint64_t)dt.size, &t.bytes))
            throw Error{WMSS_ERR_SHAPE, what + ": the shape's size overflows 64 bits"};
    }
    t.bytes = numel * dt.size;
    t.offset = data_start + (off.size() == 2 ? off[0] : 0);
    if (off.size() != 2)
        throw Error{WMSS_ERR_SHAPE, what + ": data_offsets must be [begin, end], got " + std::to_string(off.size()) +
                                        " numbers"};
    const std::string range = "data_offsets [" + std::to_string(off[0]) + ", " + std::to_string(off[1]) + "]";
    if (off[1] < off[0]) throw Error{WMSS_ERR_SHAPE, what + ": " + range + " ends before it begins"};
    if (off[1] - off[0] != t.bytes)
        throw Error{WMSS_ERR_SHAPE, what + " needs " + bytes_str(t.bytes) + ", but its " + range + " span " +
                                        bytes_str(off[1] - off[0])};
    if (data_start + off[1] > file_size)
        throw Error{WMSS_ERR_SHAPE, what + ": truncated: the header puts its data at bytes " +
                                        std::to_string(data_start + off[0]) + " to " + std::to_string(data_start + off[1]) +
                                        ", but the file has " + bytes_str(file_size)};
    return t;
}

void require_floating(const std::string &name, const TensorInfo &t) {
    if (t.dtype != "F32" && t.dtype != "BF16" && t.dtype != "F16")
        throw Error{WMSS_ERR_DTYPE, t.file + ": tensor " + name + " is stored as " + t.dtype +
                                        "; model weights must be F32, BF16 or F16"};
}

/** The non-finite values (NaN, +inf, -inf) of a floating tensor: count, and the flat index of the first. */
struct NonFinite {
    int64_t count = 0, first = -1;
};

template <class Bits>
NonFinite scan_bits(const Bits *p, int64_t n, Bits exponent) {
    // a value is NaN or infinite exactly when its exponent bits are all ones (IEEE binary32, bfloat16, binary16)
    NonFinite r;
    std::mutex m;
    at::parallel_for(0, n, 1 << 20, [&](int64_t b, int64_t e) {
        NonFinite local;
        for (int64_t i = b; i < e; i++)
            if ((p[i] & exponent) == exponent) {
                if (local.count++ == 0) local.first = i;
            }
        if (local.count == 0) return;
        std::lock_guard<std::mutex> lock(m);
        r.count += local.count;
        if (r.first < 0 || local.first < r.first) r.first = local.first;
    });
    return r;
}

NonFinite nonfinite(const torch::Tensor &tensor) {
    if (!tensor.is_floating_point()) return {};
    if (!tensor.is_cpu()) { // on a device: its own kernels, one small read-back
        const torch::Tensor bad = torch::logical_not(torch::isfinite(tensor)).flatten();
        NonFinite r;
        r.count = bad.sum().item<int64_t>();
        if (r.count > 0) r.first = bad.nonzero()[0][0].item<int64_t>();
        return r;
    }
    const torch::Tensor t = tensor.contiguous();
    switch (t.scalar_type()) {
        case torch::kFloat32: return scan_bits(static_cast<const uint32_t *>(t.data_ptr()), t.numel(), 0x7f800000u);
        case torch::kBFloat16: return scan_bits(static_cast<const uint16_t *>(t.data_ptr()), t.numel(), (uint16_t)0x7f80);
        case torch::kFloat16: return scan_bits(static_cast<const uint16_t *>(t.data_ptr()), t.numel(), (uint16_t)0x7c00);
        default: {
            const torch::Tensor bad = torch::logical_not(torch::isfinite(t)).flatten();
            NonFinite r;
            r.count = bad.sum().item<int64_t>();
            if (r.count > 0) r.first = bad.nonzero()[0][0].item<int64_t>();
            return r;
        }
    }
}

}  // namespace

void require_finite(const std::string &name, const torch::Tensor &t, const std::string &where) {
    const NonFinite bad = nonfinite(t);
    if (bad.count == 0) return;
    throw Error{WMSS_ERR_NONFINITE, where + ": tensor " + name + " (shape " + shape_str(t.sizes().vec()) + ") holds " +
                                        std::to_string(bad.count) + " NaN or infinite value" + (bad.count == 1 ? "" : "s") +
                                        " (the first at flat index " + std::to_string(bad.first) +
                                        "): the weights are corrupt or come from a run that diverged"};
}

void require_trainable(const std::string &name, const torch::Tensor &t, const std::string &where) {
    require_finite(name, t, where);
    if (t.numel() == 0 || !at::isFloatingType(t.scalar_type())) return;
    const auto [lo, hi] = torch::aminmax(t); // no copy of the tensor (its absolute values would be one)
    const double largest = std::max(-lo.item<double>(), hi.item<double>());
    if (largest <= kWeightLimit) return;
    const int64_t at = (t.abs() == largest).flatten().nonzero()[0][0].item<int64_t>(); // only for the message
    char value[32], limit[32];
    std::snprintf(value, sizeof value, "%.3g", largest);
    std::snprintf(limit, sizeof limit, "%.0e", kWeightLimit);
    throw Error{WMSS_ERR_ARGUMENT, where + ": tensor " + name + " (shape " + shape_str(t.sizes().vec()) + ") holds a value of magnitude " +
                                       value + " (at flat index " + std::to_string(at) + "): weights beyond " + limit +
                                       " overflow fp32 and bf16 training (their squares in RMSNorm, the logits they make); "
                                       "the weights are corrupt"};
}

namespace {

/** The shard files of a checkpoint directory. */
std::vector<std::string> checkpoint_files(const std::string &dir) {
    const fs::path d(dir);
    if (fs::exists(d / "model.safetensors")) return {(d / "model.safetensors").string()};
    const fs::path index = d / "model.safetensors.index.json";
    if (!fs::exists(index))
        throw Error{WMSS_ERR_ARGUMENT, dir + ": neither model.safetensors nor model.safetensors.index.json exists"};
    std::map<std::string, bool> shards;
    try {
        const json j = json::parse(read_file(index.string()));
        for (auto it = j.at("weight_map").begin(); it != j.at("weight_map").end(); ++it)
            shards[it.value().get<std::string>()] = true;
    } catch (const json::exception &e) {
        throw Error{WMSS_ERR_ARGUMENT, index.string() + ": " + e.what()};
    }
    std::vector<std::string> out;
    for (const auto &s : shards) out.push_back((d / s.first).string());
    return out;
}

}  // namespace

TensorMap read_safetensors(const std::string &path) {
    const std::string bytes = read_file(path);
    const Header h = parse_header(bytes, bytes.size(), path);
    TensorMap out;
    for (auto it = h.header.begin(); it != h.header.end(); ++it) {
        if (it.key() == "__metadata__") continue;
        const TensorInfo t = tensor_info(it.key(), it.value(), h.data_start, bytes.size(), path);
        const auto off = it.value().at("data_offsets").get<std::vector<uint64_t>>();
        auto tensor = torch::empty(t.shape, torch::TensorOptions().dtype(by_name(t.dtype, it.key(), path).type));
        std::memcpy(tensor.data_ptr(), bytes.data() + h.data_start + off[0], t.bytes);
        out.emplace(it.key(), tensor);
    }
    return out;
}

TensorIndex read_checkpoint_index(const std::string &dir) {
    TensorIndex out;
    for (const std::string &path : checkpoint_files(dir)) {
        std::ifstream in(path, std::ios::binary);
        if (!in) throw Error{WMSS_ERR_ARGUMENT, "cannot open " + path + ": " + std::strerror(errno)};
        std::error_code ec;
        const uint64_t size = fs::file_size(path, ec);
        if (ec) throw Error{WMSS_ERR_ARGUMENT, "cannot stat " + path + ": " + ec.message()};
        std::string bytes(8, '\0');
        in.read(bytes.data(), 8);
        if (size >= 8) {
            uint64_t len = 0;
            std::memcpy(&len, bytes.data(), 8);
            if (len <= size - 8) { // the header only: the weights may be far larger than memory
                bytes.resize(8 + len);
                in.read(bytes.data() + 8, (std::streamsize)len);
            }
        }
        if (!in) bytes.resize(std::min<size_t>(bytes.size(), (size_t)size));
        const Header h = parse_header(bytes, size, path);
        for (auto it = h.header.begin(); it != h.header.end(); ++it) {
            if (it.key() == "__metadata__") continue;
            TensorInfo t = tensor_info(it.key(), it.value(), h.data_start, size, path);
            require_floating(it.key(), t);
            out.emplace(it.key(), std::move(t));
        }
    }
    return out;
}

TensorMap read_checkpoint(const std::string &dir) {
    TensorMap out;
    for (const std::string &path : checkpoint_files(dir)) {
        TensorMap part = read_safetensors(path);
        for (auto &kv : part) {
            TensorInfo t;
            t.file = path;
            t.dtype = by_type(kv.second.scalar_type(), kv.first).name;
            require_floating(kv.first, t);
            require_trainable(kv.first, kv.second, dir + " (" + fs::path(path).filename().string() + ")");
        }
        out.insert(part.begin(), part.end());
    }
    return out;
}

void read_checkpoint_into(const std::string &dir, const TensorMap &targets) {
    const TensorIndex index = read_checkpoint_index(dir);
    std::map<std::string, std::ifstream> files;
    torch::NoGradGuard no_grad;
    for (const auto &kv : targets) {
        const auto it = index.find(kv.first);
        if (it == index.end()) throw Error{WMSS_ERR_ARGUMENT, "checkpoint lacks tensor " + kv.first + " (" + dir + ")"};
        const TensorInfo &t = it->second;
        std::ifstream &in = files[t.file];
        if (!in.is_open()) {
            in.open(t.file, std::ios::binary);
            if (!in) throw Error{WMSS_ERR_ARGUMENT, "cannot open " + t.file + ": " + std::strerror(errno)};
        }
        torch::Tensor buf = torch::empty(t.shape, torch::TensorOptions().dtype(by_name(t.dtype, kv.first, t.file).type));
        in.seekg((std::streamoff)t.offset);
        in.read(static_cast<char *>(buf.data_ptr()), (std::streamsize)t.bytes);
        if (!in)
            throw Error{WMSS_ERR_SHAPE, t.file + ": tensor " + kv.first + ": truncated: its " + bytes_str(t.bytes) +
                                            " at byte " + std::to_string(t.offset) + " cannot be read"};
        require_trainable(kv.first, buf, dir + " (" + fs::path(t.file).filename().string() + ")");
        if (buf.sizes() != kv.second.sizes()) {
            throw Error{WMSS_ERR_SHAPE, "tensor " + kv.first + " has shape " + shape_str(t.shape) + ", the model needs " +
                                            shape_str(kv.second.sizes().vec())};
        }
        kv.second.copy_(buf); // the dtype converted and the device reached on the way
    }
}

void write_safetensors(const std::string &path, const TensorMap &tensors,
                       const std::map<std::string, std::string> &metadata) {
    json header = json::object();
    if (!metadata.empty()) header["__metadata__"] = metadata;
    uint64_t offset = 0;
    std::vector<torch::Tensor> data;
    for (const auto &kv : tensors) { // std::map: names sorted, as the reference implementation writes them
        torch::Tensor t = kv.second.detach().to(torch::kCPU).contiguous();
        const DType &dt = by_type(t.scalar_type(), kv.first);
        const uint64_t n = (uint64_t)t.numel() * dt.size;
        header[kv.first] = {{"dtype", dt.name}, {"shape", t.sizes().vec()}, {"data_offsets", {offset, offset + n}}};
        offset += n;
        data.push_back(t);
    }
    std::string h = header.dump();
    h.append((8 - h.size() % 8) % 8, ' '); // align the data to 8 bytes, as the reference writer does
    const std::string tmp = path + ".tmp";
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        if (!out) throw Error{WMSS_ERR_ARGUMENT, "cannot write " + tmp + ": " + std::strerror(errno)};
        const uint64_t len = h.size();
        out.write(reinterpret_cast<const char *>(&len), 8);
        out.write(h.data(), (std::streamsize)h.size());
        for (const auto &t : data) out.write(static_cast<const char *>(t.data_ptr()), (std::streamsize)t.nbytes());
        out.close(); // the final flush happens here (a full disk shows now): check after it
        if (out.fail()) {
            const int err = errno;
            std::error_code ignored;
            fs::remove(tmp, ignored);
            throw Error{WMSS_ERR_ARGUMENT, "write to " + tmp + " failed: " + std::strerror(err)};
        }
    }
    commit_file(tmp, path);
}

void write_checkpoint(const std::string &dir, const TensorMap &tensors, torch::ScalarType dtype, int64_t max_shard_bytes) {
    if (dtype != torch::kFloat32 && dtype != torch::kBFloat16)
        throw Error{WMSS_ERR_DTYPE, "checkpoints are written as F32 or BF16"};
    std::vector<TensorMap> shards(1);
    int64_t in_shard = 0, total = 0;
    for (const auto &kv : tensors) {
        torch::Tensor t = kv.second.detach().to(torch::kCPU, dtype); // from any device
        // a diverged model is refused before any file is written (F32 values beyond BF16's range become inf here)
        require_finite(kv.first, t, "refusing to write " + dir);
        const int64_t n = (int64_t)t.nbytes();
        if (max_shard_bytes > 0 && in_shard > 0 && in_shard + n > max_shard_bytes) {
            shards.emplace_back();
            in_shard = 0;
        }
        shards.back().emplace(kv.first, t);
        in_shard += n;
        total += n;
    }
    const fs::path d(dir);
    if (shards.size() == 1) {
        write_safetensors((d / "model.safetensors").string(), shards[0], {{"format", "pt"}});
        return;
    }
    json weight_map = json::object();
    char name[64];
    for (size_t i = 0; i < shards.size(); i++) {
        std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
        write_safetensors((d / name).string(), shards[i], {{"format", "pt"}});
        for (const auto &kv : shards[i]) weight_map[kv.first] = name;
    }
    const json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    write_text_durably((d / "model.safetensors.index.json").string(), index.dump(2) + "\n");
}

}  // namespace wmss
