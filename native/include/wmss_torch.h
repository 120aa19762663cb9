/*
 * wmss_torch.h — the C ABI of libwmss_torch, wmss-native's layer on libtorch (C++ inside, plain C outside).
 * Status codes are those of wmss.h; wmss_torch_last_error() explains a failure on the calling thread.
 */
#ifndef WMSS_TORCH_H
#define WMSS_TORCH_H

#include <stdint.h>

#include "wmss.h"

#ifdef __cplusplus
extern "C" {
#endif

WMSS_API const char *wmss_torch_last_error(void);
/** libtorch's version, e.g. "1.13.1". */
WMSS_API const char *wmss_torch_version(void);

/**
 * The ce_mix contract (wmss.h) computed by libtorch's own ops (mul/add, log_softmax, nll_loss, logsumexp, autograd
 * backward) on every core: the independent reference the fused kernels are tested and benchmarked against. Loss
 * per row unscaled; gradients scaled by inv_norm; outputs must not alias inputs; flags are ignored.
 */
WMSS_API int wmss_torch_ce_mix_ref(const wmss_ce_mix_args *args);

/* ---------------------------------------------------------------- models
 * A decoder-only transformer of the Llama / Mistral / Qwen2 / Qwen3 family with Hugging Face names, fp32 on the
 * CPU. A handle owns its parameters, optimizer state and last logits; free it with wmss_torch_model_free.
 */
typedef struct wmss_torch_model wmss_torch_model;

/** A randomly initialised model (normal(0, 0.02), norms 1) from the text of a config.json. */
WMSS_API int wmss_torch_model_init(const char *config_json, uint64_t seed, wmss_torch_model **out);
/** dir/config.json and dir/model.safetensors (or the shards of model.safetensors.index.json); F32/BF16/F16 are
 * converted, integer dtypes refused. A missing, unexpected or mis-shaped tensor is an error naming it. The config's
 * sizes are checked against the checkpoint's tensor index and the memory available before anything is allocated
 * (WMSS_ERR_OUT_OF_MEMORY says how much would be needed); wmss_torch_model_init checks the memory too. */
WMSS_API int wmss_torch_model_load(const char *dir, wmss_torch_model **out);
/** Writes dir/config.json and dir/model.safetensors (fp32, HF names), each through a temporary file. */
WMSS_API int wmss_torch_model_save(wmss_torch_model *m, const char *dir);
/** As wmss_torch_model_save, in dtype (WMSS_DTYPE_F32 or WMSS_DTYPE_BF16), sharded Hugging Face style
 * (model-0000i-of-0000n.safetensors + model.safetensors.index.json) when max_shard_bytes > 0 is exceeded. */
WMSS_API int wmss_torch_model_save_as(wmss_torch_model *m, const char *dir, int dtype, int64_t max_shard_bytes);
WMSS_API int wmss_torch_model_free(wmss_torch_model *m);
WMSS_API int wmss_torch_model_info(wmss_torch_model *m, int64_t *vocab, int64_t *parameters);
/**
 * Forward on ids [batch, seq] (mask: 1 = token, 0 = padding; NULL = all tokens). *logits receives
 * [batch * seq, vocab] fp32, owned by the model until its next forward or free. with_grad keeps the graph for
 * wmss_torch_model_backward.
 */
WMSS_API int wmss_torch_model_forward(wmss_torch_model *m, const int64_t *ids, const int64_t *mask, int64_t batch,
                                      int64_t seq, int with_grad, float **logits);
/** Accumulates parameter gradients from d loss / d logits ([batch * seq, vocab] fp32; may be the logits buffer). */
WMSS_API int wmss_torch_model_backward(wmss_torch_model *m, const float *grad_logits);
/** Creates the AdamW optimizer over all parameters. */
WMSS_API int wmss_torch_model_adamw(wmss_torch_model *m, double lr, double beta1, double beta2, double eps,
                                    double weight_decay);
/** Clips the global gradient norm (max_grad_norm <= 0: no clipping; the norm before clipping goes to *grad_norm),
 * takes one AdamW step at learning rate lr, and zeroes the gradients. */
WMSS_API int wmss_torch_model_step(wmss_torch_model *m, double lr, double max_grad_norm, double *grad_norm);
/** The parameter with a Hugging Face name: its fp32 data and gradient (created as zeros if absent), in place. */
WMSS_API int wmss_torch_model_parameter(wmss_torch_model *m, const char *name, float **data, float **grad,
                                        int64_t *numel);
/** AdamW state (moments, step counts) to / from a file, for exact resumption. Save goes through a temporary file. */
WMSS_API int wmss_torch_model_save_optimizer(wmss_torch_model *m, const char *path);
WMSS_API int wmss_torch_model_load_optimizer(wmss_torch_model *m, const char *path);
/** trainable = 0 freezes every parameter (e.g. the weak model): pending gradients are dropped and steps skip it. */
WMSS_API int wmss_torch_model_set_trainable(wmss_torch_model *m, int trainable);

#ifdef __cplusplus
}
#endif
#endif /* WMSS_TORCH_H */
