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

/* ---------------------------------------------------------------- devices (device.cpp)
 * A model lives on one device, "cpu" or "cuda:N" (a CUDA libtorch only), with everything it owns: parameters,
 * gradients, AdamW state, activations, KV cache and the fused head's chunks. Java never receives a pointer into
 * device memory: where a function below hands out memory, it says whether it is a view (fp32 models on the CPU) or
 * a host copy (any other model).
 */
#define WMSS_TORCH_DEVICE_CPU 0
#define WMSS_TORCH_DEVICE_CUDA 1

/** "key=value" lines: flavour (cpu|cuda), libtorch version, fused_attention, fused_adamw, gloo, nccl. Static. */
WMSS_API const char *wmss_torch_build_info(void);
/** CUDA devices this process can use: 0 for a CPU libtorch or without a driver or device. */
WMSS_API int wmss_torch_cuda_device_count(int *count);
/**
 * Memory of a device ("cpu", "cuda:N") in bytes: out4 = {in use, peak in use since the last reset, held by the caching
 * allocator, total}; on the CPU {resident, peak resident, cached free blocks, physical memory}. reset_peak != 0 starts
 * a new peak after reading (CUDA only; the CPU's peak is the process's).
 */
WMSS_API int wmss_torch_device_memory(const char *device, int reset_peak, int64_t *out4);
/** Waits for the device's queued work (a no-op for "cpu"). */
WMSS_API int wmss_torch_device_synchronize(const char *device);

/* ---------------------------------------------------------------- models
 * A decoder-only transformer of the Llama / Mistral / Qwen2 / Qwen3 family with Hugging Face names: fp32 on the CPU
 * when created or loaded, then wmss_torch_model_to moves it. A handle owns its parameters, optimizer state and last
 * logits; free it with wmss_torch_model_free.
 */
typedef struct wmss_torch_model wmss_torch_model;

/** A randomly initialised model (normal(0, 0.02), norms 1) from the text of a config.json. */
WMSS_API int wmss_torch_model_init(const char *config_json, uint64_t seed, wmss_torch_model **out);
/** dir/config.json and dir/model.safetensors (or the shards of model.safetensors.index.json); F32/BF16/F16 are
 * converted, integer dtypes refused. A missing, unexpected or mis-shaped tensor is an error naming it. The config's
 * sizes are checked against the checkpoint's tensor index and the memory available before anything is allocated
 * (WMSS_ERR_OUT_OF_MEMORY says how much would be needed); wmss_torch_model_init checks the memory too. */
WMSS_API int wmss_torch_model_load(const char *dir, wmss_torch_model **out);
/**
 * wmss_torch_model_load straight onto device ("cpu", "cuda:N") with compute precision (WMSS_DTYPE_F32 or _BF16): the
 * parameters are allocated there and filled one tensor at a time (no model is made on the host first; the host holds
 * one tensor at a time).
 */
WMSS_API int wmss_torch_model_load_to(const char *dir, const char *device, int precision, wmss_torch_model **out);
/** Writes dir/config.json and dir/model.safetensors (fp32, HF names), each through a temporary file. */
WMSS_API int wmss_torch_model_save(wmss_torch_model *m, const char *dir);
/** As wmss_torch_model_save, in dtype (WMSS_DTYPE_F32 or WMSS_DTYPE_BF16), sharded Hugging Face style
 * (model-0000i-of-0000n.safetensors + model.safetensors.index.json) when max_shard_bytes > 0 is exceeded. */
WMSS_API int wmss_torch_model_save_as(wmss_torch_model *m, const char *dir, int dtype, int64_t max_shard_bytes);
WMSS_API int wmss_torch_model_free(wmss_torch_model *m);
WMSS_API int wmss_torch_model_info(wmss_torch_model *m, int64_t *vocab, int64_t *parameters);
/**
 * Moves the model to device ("cpu", "cuda", "cuda:N") and sets its precision (WMSS_DTYPE_F32, or WMSS_DTYPE_BF16: bf16
 * matrix products and activations with the fp32 parameters as master weights; AdamW state stays fp32). Gradients and
 * optimizer state move with it; the last forward is released. WMSS_ERR_NO_DEVICE says why a device is not there; a
 * move that fails (WMSS_ERR_OUT_OF_MEMORY) leaves the parameters where they were.
 */
WMSS_API int wmss_torch_model_to(wmss_torch_model *m, const char *device, int precision);
/** Where the model lives: *device_type WMSS_TORCH_DEVICE_CPU or _CUDA, *device_index (-1 for the CPU), *precision
 * (WMSS_DTYPE_F32 or _BF16); any output may be NULL. */
WMSS_API int wmss_torch_model_device(wmss_torch_model *m, int *device_type, int *device_index, int *precision);
/**
 * Forward on ids [batch, seq] host arrays (mask: 1 = token, 0 = padding; NULL = all tokens), which go to the model's
 * device once. *logits receives [batch * seq, vocab] fp32 host memory owned by the model until its next forward or
 * free: a view of the logits for an fp32 CPU model, a host copy for any other (the materialised-logits reference
 * path; the fused head needs no logits). with_grad keeps the graph for wmss_torch_model_backward.
 */
WMSS_API int wmss_torch_model_forward(wmss_torch_model *m, const int64_t *ids, const int64_t *mask, int64_t batch,
                                      int64_t seq, int with_grad, float **logits);
/** Accumulates parameter gradients from d loss / d logits ([batch * seq, vocab] fp32 host memory, copied to the
 * model's device; may be the logits buffer). */
WMSS_API int wmss_torch_model_backward(wmss_torch_model *m, const float *grad_logits);
/** Creates the AdamW optimizer over all parameters. */
WMSS_API int wmss_torch_model_adamw(wmss_torch_model *m, double lr, double beta1, double beta2, double eps,
                                    double weight_decay);
/** Clips the global gradient norm (max_grad_norm <= 0: no clipping; the norm before clipping goes to *grad_norm),
 * takes one AdamW step at learning rate lr, and zeroes the gradients. A non-finite norm is WMSS_ERR_NONFINITE and no
 * step is taken (parameters, moments and step counts unchanged; on the CPU the gradients are left as they were, on
 * CUDA they are consumed, zeroed, since the device decides without the host). On CUDA the norm, the clip and the
 * update run on the device (PyTorch's fused AdamW) and the norm is the one value read back. */
WMSS_API int wmss_torch_model_step(wmss_torch_model *m, double lr, double max_grad_norm, double *grad_norm);
/**
 * Greedy decoding with a KV cache, without gradients: prompts [batch, width] (row i's first prompt_lens[i] >= 1
 * entries are its prompt), then up to max_new tokens per row, each the argmax of the next-token logits (the first
 * maximum on ties), until the row produces eos (not written; eos < 0: never) or the longest row, finished ones
 * included, holds max_len tokens. out [batch, max_new] receives each row's tokens, out_lens the counts. The prompts run
 * once; each step runs only the rows still decoding, and logits exist only for the positions decoded.
 */
WMSS_API int wmss_torch_model_generate(wmss_torch_model *m, const int64_t *prompts, const int64_t *prompt_lens,
                                       int64_t batch, int64_t width, int64_t max_new, int64_t max_len, int64_t eos,
                                       int64_t *out, int64_t *out_lens);
/** The global gradient norm that wmss_torch_model_step would clip (0 without gradients), without changing anything:
 * for a clip over several models' joint norm (pass each model max_grad_norm = coef * (its norm + 1e-6)). */
WMSS_API int wmss_torch_model_grad_norm(wmss_torch_model *m, double *grad_norm);
/** The parameter with a Hugging Face name: its fp32 data and gradient (created as zeros if absent); grad may be NULL.
 * On the CPU live views (writes change the model); on a device host snapshots taken now, owned by the model until the
 * next call for the same name (writes do not reach the model). */
WMSS_API int wmss_torch_model_parameter(wmss_torch_model *m, const char *name, float **data, float **grad,
                                        int64_t *numel);
/** AdamW state (moments, step counts) to / from a file, for exact resumption. Save goes through a temporary file. */
WMSS_API int wmss_torch_model_save_optimizer(wmss_torch_model *m, const char *path);
WMSS_API int wmss_torch_model_load_optimizer(wmss_torch_model *m, const char *path);
/** trainable = 0 freezes every parameter (e.g. the weak model): pending gradients are dropped and steps skip it. */
WMSS_API int wmss_torch_model_set_trainable(wmss_torch_model *m, int trainable);
/**
 * Layer activation checkpointing (on != 0): a forward with gradients keeps each decoder layer's input only and runs
 * the layer again in the backward; the same gradients, bit for bit, for activation memory of 4 x hidden bytes per
 * token per layer (instead of every intermediate) and one more forward of the layers.
 */
WMSS_API int wmss_torch_model_set_checkpointing(wmss_torch_model *m, int on);

/* ---------------------------------------------------------------- data parallel (libtorch c10d)
 * One process per rank, as torchrun: a process group over a TCPStore at MASTER_ADDR:MASTER_PORT (rank 0 serves
 * it), backend "gloo" (CPU tensors, any machine) or "nccl" (CUDA; only in a libwmss_torch built against a libtorch
 * with NCCL, see wmss_torch_dist_available). Every collective must be called by every rank, in the same order,
 * from one thread per process. A collective that fails (a peer exited, hung past the timeout, or the network
 * failed) returns WMSS_TORCH_ERR_DIST within the timeout, never hangs or aborts; the group is then unusable
 * (every later call fails at once): free it and exit non-zero.
 */
/** Status of a failed collective (not in wmss_status: it is specific to this layer). */
#define WMSS_TORCH_ERR_DIST 64
/** Timeout used when 0 is passed: 10 minutes per collective (and for the ranks to meet at init). */
#define WMSS_TORCH_DIST_DEFAULT_TIMEOUT_MS 600000
/** Bucket size used when 0 is passed: 25 MiB, as torch's DistributedDataParallel. */
#define WMSS_TORCH_DIST_DEFAULT_BUCKET_BYTES (25LL << 20)

typedef enum wmss_torch_dist_type {
    WMSS_TORCH_DIST_U8 = 0,
    WMSS_TORCH_DIST_I64 = 1,
    WMSS_TORCH_DIST_F32 = 2,
    WMSS_TORCH_DIST_F64 = 3
} wmss_torch_dist_type;

typedef enum wmss_torch_dist_op {
    WMSS_TORCH_DIST_SUM = 0,
    WMSS_TORCH_DIST_AVG = 1, /* sum / world size; floating types only */
    WMSS_TORCH_DIST_MIN = 2,
    WMSS_TORCH_DIST_MAX = 3
} wmss_torch_dist_op;

typedef struct wmss_torch_dist wmss_torch_dist;

/** *available = 1 when this library can create a group with backend ("gloo" always; "nccl" if built with it). */
WMSS_API int wmss_torch_dist_available(const char *backend, int *available);
/**
 * Joins the group (blocks until every rank has joined, or fails after timeout_ms). Arguments left unset are read
 * from torchrun's environment: master_addr NULL -> MASTER_ADDR, master_port <= 0 -> MASTER_PORT, rank < 0 -> RANK,
 * world_size <= 0 -> WORLD_SIZE, local_rank < 0 -> LOCAL_RANK (default 0; the CUDA device for nccl). A world of
 * one needs no address or port. backend NULL means "gloo". The gloo transport binds to 127.0.0.1 when the master
 * is a loopback address, to GLOO_SOCKET_IFNAME's interfaces when set, else to this host's name.
 */
WMSS_API int wmss_torch_dist_init(const char *backend, const char *master_addr, int master_port, int rank,
                                  int world_size, int local_rank, int64_t timeout_ms, wmss_torch_dist **out);
/** Leaves the group (no collective: safe after a failure). */
WMSS_API int wmss_torch_dist_free(wmss_torch_dist *pg);
/** Any output may be NULL. */
WMSS_API int wmss_torch_dist_info(wmss_torch_dist *pg, int *rank, int *world_size, int *local_rank);
WMSS_API int wmss_torch_dist_barrier(wmss_torch_dist *pg);
/** In place over count host values of type (wmss_torch_dist_type) with op (wmss_torch_dist_op). */
WMSS_API int wmss_torch_dist_allreduce(wmss_torch_dist *pg, int type, void *data, int64_t count, int op);
/** In place: every rank receives root's count values (count must agree on every rank). */
WMSS_API int wmss_torch_dist_broadcast(wmss_torch_dist *pg, int type, void *data, int64_t count, int root);
/** out[r * count ..] = rank r's in (count must agree on every rank; out holds world_size * count values). */
WMSS_API int wmss_torch_dist_allgather(wmss_torch_dist *pg, int type, const void *in, int64_t count, void *out);
/**
 * Unequal lengths: rank r contributes counts[r] values (counts: world_size entries, the same on every rank, e.g.
 * from wmss_torch_dist_allgather of each rank's count); out receives them concatenated in rank order.
 */
WMSS_API int wmss_torch_dist_allgatherv(wmss_torch_dist *pg, int type, const void *in, const int64_t *counts,
                                        void *out);
/** Copies root's parameters into every rank's model (same architecture everywhere), bucket by bucket. */
WMSS_API int wmss_torch_dist_broadcast_params(wmss_torch_dist *pg, wmss_torch_model *m, int root);
/**
 * All-reduces the gradients of the model's trainable parameters (op SUM or AVG) in buckets of bucket_bytes
 * (0: the default), after backward. A parameter without a gradient counts as zero and receives the result.
 */
WMSS_API int wmss_torch_dist_allreduce_grads(wmss_torch_dist *pg, wmss_torch_model *m, int op, int64_t bucket_bytes);

/**
 * The same reduction with a fixed bucket plan and, when overlap != 0, overlapped with backward: after
 * wmss_torch_dist_grads_prepare, the next backward of the model launches each bucket's all-reduce as soon as its
 * gradients are final (buckets hold parameters in approximate backward order: head, last layer ... first layer,
 * embeddings; an untied lm_head last), and wmss_torch_dist_grads_sync waits for them. Without prepare, sync
 * reduces everything itself. With gradient accumulation, prepare only before the last micro-batch's backward, on
 * every rank (also on a rank without data this step). Gradient added outside that backward (before it, or after a
 * bucket left, e.g. a head gradient written by hand, or a second backward) is reduced too: a bucket launched from
 * inside backward takes its gradients out (zeroes them in place), and after an armed backward sync sweeps for
 * anything added since and all-reduces that part (one read of the gradients and one small collective per step;
 * a late contribution costs that bucket's all-reduce again). Free it before its model.
 */
typedef struct wmss_torch_dist_grads wmss_torch_dist_grads;

WMSS_API int wmss_torch_dist_grads_new(wmss_torch_dist *pg, wmss_torch_model *m, int64_t bucket_bytes, int overlap,
                                       wmss_torch_dist_grads **out);
/** Arms the overlap for the model's next backward (a no-op when created with overlap = 0). */
WMSS_API int wmss_torch_dist_grads_prepare(wmss_torch_dist_grads *g);
/** Finishes the reduction (op SUM or AVG) and writes it into the gradients. *wait_seconds (may be NULL): time spent
 * in this call, i.e. the communication not hidden behind backward. */
WMSS_API int wmss_torch_dist_grads_sync(wmss_torch_dist_grads *g, int op, double *wait_seconds);
/** Buckets and gradient elements in the plan, and how many buckets the last sync found already launched from
 * inside backward (the overlap achieved); any output may be NULL. */
WMSS_API int wmss_torch_dist_grads_info(wmss_torch_dist_grads *g, int64_t *buckets, int64_t *elements,
                                        int64_t *overlapped);
WMSS_API int wmss_torch_dist_grads_free(wmss_torch_dist_grads *g);
/**
 * ZeRO (DeepSpeed's stages) of a model's optimizer over the group: stage 1 shards AdamW's moments, rank r keeping those
 * of its contiguous slice of the flat parameter space (parameters in name order; equal to within one element). The
 * gradients are still all-reduced whole (wmss_torch_dist_grads_*); wmss_torch_model_step then updates this rank's
 * slice with the arithmetic of the unsharded step and all-gathers the updated parameters: the parameters after each
 * step are those of stage 0, bit for bit, and the moments take 8 bytes per parameter / world_size instead of 8.
 * Call after wmss_torch_model_adamw and before the first step or optimizer load; stage 0 is the unsharded optimizer.
 * Stage 1 runs on fp32 CPU parameters (the CPU build); stages 2 and 3 are WMSS_ERR_UNSUPPORTED. With a sharded
 * optimizer wmss_torch_model_save_optimizer writes this rank's shard (every rank its own file, a collective in
 * effect) and wmss_torch_model_load_optimizer cuts a whole (unsharded) state to this rank's shard.
 */
WMSS_API int wmss_torch_model_zero(wmss_torch_model *m, wmss_torch_dist *pg, int stage);
/** out4: the stage (0: not sharded), this rank's slice [lo, hi) and the flat parameter count. */
WMSS_API int wmss_torch_model_zero_info(wmss_torch_model *m, int64_t *out4);
/**
 * The optimizer state from the shards in dir (every optimizer.zero-*.pt there, written by any world size: they are cut
 * again for this one; a sharded model takes its slice, an unsharded one the whole state). Shards of another model,
 * of different steps or not covering the slice are WMSS_ERR_SHAPE / WMSS_ERR_ARGUMENT. *written_world (may be NULL):
 * the world size the shards were written with.
 */
WMSS_API int wmss_torch_model_load_optimizer_shards(wmss_torch_model *m, const char *dir, int *written_world);
/* ---------------------------------------------------------------- fused head (fused_head.cpp)
 * The LM head, the weak/strong mix and the cross-entropy without N x V logits: the forward stops at the final norm
 * (hidden states [N, H]); wmss_torch_fused_head then takes the rows in chunks, computes each model's logits of the
 * chunk with its own head weight (lm_head, or the embedding when tied), runs the fused ce_mix (wmss.h) in place on
 * them, accumulates d loss / d hidden of each model and the head weights' gradients, and finally backpropagates
 * through the rest of each model from d loss / d hidden. Only one chunk's logits exist at a time. On a CUDA
 * libtorch the same path runs the CUDA ce_mix on the model's device.
 */

/** Bits of wmss_torch_fused_head_args.flags besides WMSS_FLAG_ALLOW_NONFINITE. */
#define WMSS_TORCH_HEAD_NO_BACKWARD 0x100u /* stop at d loss / d hidden: the caller runs wmss_torch_model_backward_hidden */
/** A chunk budget that keeps one chunk's logits in 320 MiB (the Java default): 256 rows of two Qwen-sized vocabularies. */
#define WMSS_TORCH_HEAD_DEFAULT_CHUNK_BYTES (INT64_C(320) << 20)

/**
 * Forward on ids [batch, seq] (mask as wmss_torch_model_forward) that stops after the final norm. hidden may be NULL
 * (the fused head needs no pointer); else *hidden receives [batch * seq, hidden_size] fp32 host memory owned by the
 * model until its next forward or free: a view for an fp32 CPU model, a host copy for any other. *hidden_size
 * (optional) the width. with_grad keeps the graph for wmss_torch_fused_head / wmss_torch_model_backward_hidden. Any
 * earlier forward's logits are released.
 */
WMSS_API int wmss_torch_model_forward_hidden(wmss_torch_model *m, const int64_t *ids, const int64_t *mask, int64_t batch,
                                             int64_t seq, int with_grad, float **hidden, int64_t *hidden_size);
/** Accumulates parameter gradients of the body (everything below the head) from d loss / d hidden ([rows, H] fp32
 * host memory, copied to the model's device and precision). */
WMSS_API int wmss_torch_model_backward_hidden(wmss_torch_model *m, const float *grad_hidden);

/**
 * One fused head call. Start from wmss_torch_fused_head_args_default(). A model gets gradients when its last
 * wmss_torch_model_forward_hidden kept the graph and it is trainable: its head weight's gradient (the embedding's
 * where tied) and, unless WMSS_TORCH_HEAD_NO_BACKWARD, the rest of its parameters. Both models on one device and in
 * one precision; the chunk logits are in that precision and the ce_mix accumulates in fp32; on CUDA the kernels run on
 * libtorch's current stream and the outputs are copied to the host once, before the bodies' backward. Per-row outputs are fp32 [rows]
 * host arrays; NULL = not wanted. Every argument, label and shape is checked before anything is written.
 */
typedef struct wmss_torch_fused_head_args {
    uint64_t size;               /* sizeof(wmss_torch_fused_head_args) */
    wmss_torch_model *strong;    /* required */
    wmss_torch_model *weak;      /* NULL: one model (lambda must be 1), e.g. SFT or evaluation */
    const int64_t *labels;       /* [rows], WMSS_IGNORE_INDEX = no target */
    int64_t rows;                /* batch * seq of the models' last forward_hidden */
    float lambda;                /* weight of the strong logits, in [0, 1] */
    float inv_norm;              /* 1 / supervised tokens of the global batch: scales the gradients */
    int64_t chunk_bytes;         /* > 0: budget for one chunk's logits (fp32, or bf16 for bf16 models) of all models together (>= 1 row; a multiple of 32 rows when >= 64 fit) */
    uint32_t flags;              /* WMSS_FLAG_ALLOW_NONFINITE, WMSS_TORCH_HEAD_NO_BACKWARD */
    uint32_t reserved;           /* 0 */
    float *loss;                 /* required: per-row loss of the mixed logits, unscaled (0 for ignored rows) */
    float *lse;                  /* log-sum-exp of the mixed logits */
    float *entropy;              /* entropy of the mixed distribution (lambda = 1: the strong model's own) */
    float *entropy_strong;       /* entropy of the strong model's own distribution */
    float *entropy_weak;         /* ... of the weak model's (needs weak) */
    float *non_target_logit_strong; /* mean strong logit over the vocabulary without the label (all for ignored rows) */
    float *grad_sq_strong;       /* sum over the vocabulary of (d loss / d z_strong)^2 */
    float *grad_hidden_strong;   /* a copy of d loss / d hidden, [rows, H_strong] (needs the strong graph) */
    float *grad_hidden_weak;     /* [rows, H_weak] (needs the weak graph) */
} wmss_torch_fused_head_args;

static inline wmss_torch_fused_head_args wmss_torch_fused_head_args_default(void) {
    wmss_torch_fused_head_args a;
    char *p = (char *)&a;
    for (unsigned i = 0; i < sizeof a; i++) p[i] = 0;
    a.size = sizeof a;
    a.lambda = 0.5f;
    a.inv_norm = 1.0f;
    a.chunk_bytes = WMSS_TORCH_HEAD_DEFAULT_CHUNK_BYTES;
    return a;
}

WMSS_API int wmss_torch_fused_head(const wmss_torch_fused_head_args *args);
/** The chunking of a fused head call: out2 = {rows per chunk, chunks} for `models` (1 or 2) models. */
WMSS_API int wmss_torch_fused_head_plan(int64_t rows, int64_t vocab, int models, int64_t chunk_bytes, int64_t *out2);

/* ---------------------------------------------------------------- performance accounting (perf.cpp) */

/** Matrix-multiply FLOPs of one forward of m on [batch, seq] tokens (projections, attention, head); a training step
 * of a trained model costs 3x that (the backward computes two products per forward product). */
WMSS_API int wmss_torch_model_flops(wmss_torch_model *m, int64_t batch, int64_t seq, double *forward_flops);
/** The sgemm rate of this machine with libtorch's threads as they are set now, measured (a few seconds at most) on
 * a large fp32 at::mm: *flops_per_second. The reference of the MFU in the training log. */
WMSS_API int wmss_torch_sgemm_peak(double *flops_per_second);

/** The matrix-product rate of a device ("cpu", "cuda:N") in a precision (WMSS_DTYPE_F32 or _BF16), measured now on
 * random data (a second or two): the reference of the MFU of a model on that device. */
WMSS_API int wmss_torch_matmul_peak(const char *device, int precision, double *flops_per_second);

/* ---------------------------------------------------------------- threads (threads.cpp) */

/**
 * Intra-op threads of libtorch's CPU ops in every call of this library (matrix products run on OpenBLAS's own
 * pool either way). n = 0 (the default): every core (OMP_NUM_THREADS when set) if OpenMP workers wait passively
 * (OMP_WAIT_POLICY=passive, or GOMP_SPINCOUNT <= 10000, in the environment libgomp read when it was loaded), else 1,
 * because spinning OpenMP workers take the cores OpenBLAS's pool needs. The Java loader sets OMP_WAIT_POLICY=passive
 * (unless already set) before the libraries load.
 */
WMSS_API int wmss_torch_set_num_threads(int n);
/** The intra-op thread count in use (*n) and whether OpenMP waits passively (*passive: 1 or 0); either may be NULL. */
WMSS_API int wmss_torch_num_threads(int *n, int *passive);
/**
 * The decoder's fused ops (on by default): RMSNorm, rotary embeddings, SwiGLU and the scaled, masked softmax each
 * in one pass forward and one backward, grouped-query attention without repeating k and v. on = 0 switches every
 * model to libtorch's composite ops, the reference the fused ones are tested against.
 */
WMSS_API int wmss_torch_set_fused_ops(int on);

/* ---------------------------------------------------------------- memory (allocator.cpp) */

/**
 * libwmss_torch installs a caching CPU allocator into libtorch when it loads: freed blocks of 256 KiB and more are
 * kept by size class and reused by the next step (no page faults, no zeroing by the kernel), up to
 * WMSS_TORCH_CACHE_MB MiB of free blocks (default: a quarter of physical memory; 0 = no cache). Out of memory, the
 * cache is emptied and the allocation retried. out4 = {cached free bytes, limit, hits, misses}.
 */
WMSS_API int wmss_torch_cache_stats(int64_t *out4);
/** Returns every cached free block to the system. */
WMSS_API int wmss_torch_cache_empty(void);

#ifdef __cplusplus
}
#endif
#endif /* WMSS_TORCH_H */
