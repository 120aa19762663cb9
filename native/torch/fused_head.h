// What the fused head (fused_head.cpp) keeps per model handle, and the handle accessors it needs from model_api.cpp.
#pragma once
#include <torch/torch.h>

#include "model.h"
#include "wmss_torch.h"

namespace wmss {

/** The last wmss_torch_model_forward_hidden of a model: hidden states [N, H] and whether they carry a graph. */
struct HiddenState {
    torch::Tensor hidden; // [N, H] fp32, the graph's output when graph is set
    bool graph = false;
};

// Defined in model_api.cpp, where struct wmss_torch_model is.
Decoder &decoder_of(wmss_torch_model *m);
HiddenState &hidden_of(wmss_torch_model *m);
/** Drops the logits of an earlier wmss_torch_model_forward (and their graph). */
void release_logits(wmss_torch_model *m);

}  // namespace wmss
