#include "safetensors.h"

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

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

/** Parses and checks the header of a safetensors file whose first bytes (at least the header) are in `bytes`. */
Header parse_header(const std::string &bytes, uint64_t file_size, const std::string &path) {
    if (bytes.size() < 8) throw Error{WMSS_ERR_ARGUMENT, path + ": not a safetensors file (shorter than 8 bytes)"};
    uint64_t header_len = 0;
    std::memcpy(&header_len, bytes.data(), 8); // little endian on every platform we build for
    if (header_len > file_size - 8 || header_len > bytes.size() - 8)
        throw Error{WMSS_ERR_ARGUMENT, path + ": header length " + std::to_string(header_len) + " exceeds the file"};
    Header h;
    try {
        h.header = json::parse(bytes.begin() + 8, bytes.begin() + 8 + (long)header_len);
    } catch (const json::exception &e) {
        throw Error{WMSS_ERR_ARGUMENT, path + ": malformed header: " + e.what()};
    }
    if (!h.header.is_object()) throw Error{WMSS_ERR_ARGUMENT, path + ": malformed header: not a JSON object"};
    h.data_start = 8 + header_len;
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
    uint64_t numel = 1;
    bool overflow = false;
    for (int64_t d : t.shape) {
        if (d < 0 || __builtin_mul_overflow(numel, (uint64_t)d, &numel)) overflow = true;
    }
    if (overflow || off.size() != 2 || off[1] < off[0] || off[1] - off[0] != numel * dt.size ||
        data_start + off[1] > file_size)
        throw Error{WMSS_ERR_SHAPE, path + ": tensor " + name + " has inconsistent offsets/shape"};
    t.bytes = off[1] - off[0];
    return t;
}

void require_floating(const std::string &name, const TensorInfo &t) {
    if (t.dtype != "F32" && t.dtype != "BF16" && t.dtype != "F16")
        throw Error{WMSS_ERR_DTYPE, t.file + ": tensor " + name + " is stored as " + t.dtype +
                                        "; model weights must be F32, BF16 or F16"};
}

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
        }
        out.insert(part.begin(), part.end());
    }
    return out;
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
        torch::Tensor t = kv.second.detach().to(dtype);
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
