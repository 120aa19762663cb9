// Hugging Face safetensors: read (single file or sharded with model.safetensors.index.json) and write.
#pragma once
#include <torch/torch.h>

#include <map>
#include <string>

namespace wmss {

using TensorMap = std::map<std::string, torch::Tensor>;

/** Reads one .safetensors file (F32, BF16, F16, I64, I32); tensors are owned copies on the CPU. */
TensorMap read_safetensors(const std::string &path);

/** What a checkpoint's headers say about one tensor (no data read). */
struct TensorInfo {
    std::string dtype;          // safetensors name: F32, BF16, ...
    std::vector<int64_t> shape;
    std::string file;
    uint64_t bytes = 0;
    uint64_t offset = 0;        // where its data starts in the file
};
using TensorIndex = std::map<std::string, TensorInfo>;

/**
 * The tensors of a checkpoint directory (model.safetensors, or the shards of model.safetensors.index.json) from
 * their headers alone. Model weights must be floating point: a tensor stored as an integer dtype is an error naming
 * the tensor, its dtype and its file (converting integers would silently make garbage weights).
 */
TensorIndex read_checkpoint_index(const std::string &dir);

/**
 * Reads a checkpoint directory (as read_checkpoint_index; floating dtypes only) into owned CPU tensors. A tensor
 * holding NaN or infinite values, or a value beyond kWeightLimit, is an error naming the directory, its file and the
 * tensor (require_trainable).
 */
TensorMap read_checkpoint(const std::string &dir);

/**
 * Copies a checkpoint's tensors into the given tensors by name, one at a time (each read from its file into one host
 * buffer of its stored dtype, checked with require_trainable, then copied into place, converting the dtype and moving
 * it to the tensor's device): host memory beyond the targets is one tensor. The names must be the checkpoint's
 * (check_against_index first); a tied head stored beside the embedding is skipped by the caller not asking for it.
 */
void read_checkpoint_into(const std::string &dir, const TensorMap &targets);

/**
 * Throws WMSS_ERR_NONFINITE, naming `where`, the tensor, how many of its values are NaN or infinite and the first's
 * flat index, when a floating tensor holds any (read from the bits on the CPU: nothing is allocated).
 */
void require_finite(const std::string &name, const torch::Tensor &t, const std::string &where);

/**
 * The largest weight magnitude a checkpoint may hold: far above any trained transformer's (their weights are O(1),
 * norms' scales O(100)), far below what overflows fp32 and bf16 arithmetic (a square in RMSNorm overflows at 1.8e19).
 */
constexpr double kWeightLimit = 1e10;

/** require_finite, then: no value beyond kWeightLimit in magnitude (WMSS_ERR_ARGUMENT naming the tensor and value). */
void require_trainable(const std::string &name, const torch::Tensor &t, const std::string &where);

/** Writes tensors (contiguous CPU copies) to path via a temporary file and a rename: never half a file. */
void write_safetensors(const std::string &path, const TensorMap &tensors,
                       const std::map<std::string, std::string> &metadata = {});

/**
 * Writes a checkpoint directory's weights in `dtype` (kFloat32 or kBFloat16): model.safetensors, or, when
 * max_shard_bytes > 0 and the weights are larger, model-0000i-of-0000n.safetensors plus
 * model.safetensors.index.json (the Hugging Face layout). Every file goes through a temporary name. Weights holding
 * NaN or infinite values (in `dtype`) are refused before any file is written.
 */
void write_checkpoint(const std::string &dir, const TensorMap &tensors, torch::ScalarType dtype, int64_t max_shard_bytes);

}  // namespace wmss
