// What the fused head (fused_head.cpp) keeps per model handle, and the handle accessors it needs from model_api.cpp.
#pragma once
#include <torch/torch.h>

#include "model.h"
#include "wmss_torch.h"

namespace wmss {

/** The last wmss_torch_model_forward_hidden of a model: hidden states [N, H] and whether they carry a graph. */
struct HiddenState {
    torch::Tensor hidden; // [N, H] in the compute dtype, the graph's output when graph is set
    torch::Tensor host;   // its host fp32 copy, when Java asked for the states of a device or bf16 model
    bool graph = false;
};

// Defined in model_api.cpp, where struct wmss_torch_model is.
Decoder &decoder_of(wmss_torch_model *m);
HiddenState &hidden_of(wmss_torch_model *m);
/** Drops the logits of an earlier wmss_torch_model_forward (and their graph). */
void release_logits(wmss_torch_model *m);

}  // namespace wmss
