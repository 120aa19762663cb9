/*
 * wmss.h — the C ABI of wmss-native's kernels.
 *
 * Two ops, each taking one argument descriptor whose first field is its size (= its version):
 *   "ce_mix":  mixed-logit softmax cross-entropy with its backward, fused into one pass per row (wmss_ce_mix_args);
 *   "entropy": per-row entropy of one model's distribution, fused with its NLL, for WD-DS (wmss_entropy_args).
 * Exports that exist only for this project's tests and benchmarks are declared in wmss_dev.h.
 *
 *   z_mix = lambda * z_strong + (1 - lambda) * z_weak        (lambda = 0 / 1 use one input only, so -inf is safe)
 *   lse   = log sum_v exp(z_mix[v])
 *   loss  = lse - z_mix[y]                                  (per row, NOT scaled; 0 for ignored rows)
 *   g     = softmax(z_mix) - onehot(y)
 *   grad_strong = lambda * inv_norm * g,  grad_weak = (1 - lambda) * inv_norm * g   (0 for ignored rows)
 *   entropy = -sum_v p_v log p_v of the mixed distribution
 *
 * Conventions for every function here:
 *   - returns WMSS_OK (0) or a wmss_status; on failure wmss_last_error() (thread-local) says why, and no output
 *     has been written unless the status is WMSS_ERR_NONFINITE (then every output is written, bad rows as NaN/inf);
 *   - matrices are row-major with a row stride ("ld", in elements, >= vocab); labels are int64, WMSS_IGNORE_INDEX
 *     marks rows without a target; accumulation is fp32 (row sums in double), whatever the storage dtype;
 *   - an output may alias exactly its own input (grad_strong == z_strong with the same ld, grad_weak == z_weak):
 *     in place; any other overlap is rejected with WMSS_ERR_ALIAS;
 *   - nothing aborts the process.
 */
#ifndef WMSS_H
#define WMSS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define WMSS_API __declspec(dllexport)
#else
#define WMSS_API __attribute__((visibility("default")))
#endif

/** Bumped on every incompatible change of this header. */
#define WMSS_ABI_VERSION 3
#define WMSS_IGNORE_INDEX (-100)

typedef enum wmss_status {
    WMSS_OK = 0,
    WMSS_ERR_NULL_POINTER = 1, /* a required pointer is NULL */
    WMSS_ERR_SHAPE = 2,        /* rows < 0, vocab < 1, ld < vocab, or a size overflows */
    WMSS_ERR_LABEL = 3,        /* a label outside [0, vocab) that is not WMSS_IGNORE_INDEX */
    WMSS_ERR_ALIGNMENT = 4,    /* a pointer not aligned to its element size */
    WMSS_ERR_ALIAS = 5,        /* outputs overlap inputs or each other other than exactly in place */
    WMSS_ERR_DTYPE = 6,        /* unknown dtype */
    WMSS_ERR_NONFINITE = 7,    /* NaN/+inf logits or an infinite loss, and WMSS_FLAG_ALLOW_NONFINITE not set */
    WMSS_ERR_ARGUMENT = 8,     /* lambda outside [0,1], inv_norm negative or not finite, bad flags, ... */
    WMSS_ERR_NO_DEVICE = 9,    /* CUDA: no usable device or driver */
    WMSS_ERR_CUDA = 10,        /* CUDA: a runtime error */
    WMSS_ERR_OUT_OF_MEMORY = 11,
    WMSS_ERR_UNSUPPORTED = 12, /* not built in, or not supported by this CPU */
    WMSS_ERR_INTERNAL = 13,
    WMSS_ERR_VERSION = 14      /* a descriptor whose size is not this library's (built against another wmss.h) */
} wmss_status;

typedef enum wmss_dtype {
    WMSS_DTYPE_F32 = 0,
    WMSS_DTYPE_BF16 = 1
} wmss_dtype;

/** Where a pointer lives (wmss_cuda_pointer_kind). */
typedef enum wmss_memory {
    WMSS_MEMORY_HOST = 0,
    WMSS_MEMORY_DEVICE = 1,
    WMSS_MEMORY_MANAGED = 2
} wmss_memory;

/** Non-finite policy: write NaN/inf rows and return WMSS_OK instead of WMSS_ERR_NONFINITE. */
#define WMSS_FLAG_ALLOW_NONFINITE 1u

/* ---------------------------------------------------------------- library */

/** Message of the last failed call on this thread ("" if none). Never NULL. */
WMSS_API const char *wmss_last_error(void);
WMSS_API int wmss_abi_version(void);
/** e.g. "wmss 0.1.0 (cpu: avx512 of avx512bf16 avx512 avx2 sse2; openmp 201511; cuda: ...)". */
WMSS_API const char *wmss_build_info(void);
/** The CPU kernel variant in use: "avx512bf16", "avx512", "avx2" or "sse2". */
WMSS_API const char *wmss_cpu_isa(void);
/** Force a CPU variant ("avx512bf16", "avx512", "avx2", "sse2" or "auto"); WMSS_ERR_UNSUPPORTED if this CPU lacks it. */
WMSS_API int wmss_cpu_set_isa(const char *name);
/** Threads used by the CPU kernels; n = 0 restores the OpenMP default. */
WMSS_API int wmss_set_num_threads(int n);
WMSS_API int wmss_num_threads(void);

/* ---------------------------------------------------------------- ce_mix: the argument descriptor */

/**
 * Everything one ce_mix call needs, for every entry point (CPU fused, unfused, CUDA, the CUDA host emulation and
 * the libtorch reference). `size` must be sizeof(wmss_ce_mix_args): it doubles as the descriptor's version, and a
 * library built against another layout rejects the call with WMSS_ERR_VERSION. Start from
 * wmss_ce_mix_args_default(), which sets size, lambda = 0.5 and inv_norm = 1.
 *
 * Required: z_strong, z_weak (ignored when lambda makes them unused, but never NULL), labels, loss. Optional
 * (NULL = not wanted): grad_strong, grad_weak (same dtype as the inputs; may be exactly their input: in place),
 * lse, entropy (fp32, [rows]). Statistics (lse, entropy) are computed for ignored rows too; loss and gradients
 * of ignored rows are 0. With no gradient wanted a row is read once. When lse or entropy is wanted, an ignored
 * row without a distribution (NaN, +inf, or every entry -inf) counts as non-finite like a labelled one.
 */
typedef struct wmss_ce_mix_args {
    uint64_t size;            /* sizeof(wmss_ce_mix_args) */
    int32_t dtype;            /* wmss_dtype of the logits and gradients */
    uint32_t flags;           /* WMSS_FLAG_* */
    int64_t rows, vocab;
    const void *z_strong;     /* [rows, vocab], row stride ld_strong (elements) */
    int64_t ld_strong;
    const void *z_weak;
    int64_t ld_weak;
    const int64_t *labels;    /* [rows], WMSS_IGNORE_INDEX = no target */
    float lambda;             /* weight of z_strong, in [0, 1] */
    float inv_norm;           /* 1 / supervised tokens of the global batch: scales the gradients */
    float *loss;              /* [rows] per-row loss, unscaled */
    void *grad_strong;        /* [rows, vocab], row stride ld_grad_strong */
    int64_t ld_grad_strong;
    void *grad_weak;
    int64_t ld_grad_weak;
    float *lse;               /* [rows] log-sum-exp of z_mix */
    float *entropy;           /* [rows] entropy of softmax(z_mix), nats */
} wmss_ce_mix_args;

/** A descriptor with its size set, lambda = 0.5, inv_norm = 1, everything else 0 / NULL. */
static inline wmss_ce_mix_args wmss_ce_mix_args_default(void) {
    wmss_ce_mix_args a;
    char *p = (char *)&a;
    for (unsigned i = 0; i < sizeof a; i++) p[i] = 0;
    a.size = sizeof a;
    a.lambda = 0.5f;
    a.inv_norm = 1.0f;
    return a;
}

/**
 * Validates a descriptor as every host entry point does (version, dtype, shapes, NULLs, flags, lambda, inv_norm,
 * alignment, label range, aliasing) without running anything: WMSS_OK or the status the call would fail with.
 */
WMSS_API int wmss_ce_mix_check(const wmss_ce_mix_args *args);

/* ---------------------------------------------------------------- ce_mix on the CPU */

/** Fused forward + backward, one pass over each row (the second sweep of a row hits cache). */
WMSS_API int wmss_ce_mix(const wmss_ce_mix_args *args);

/**
 * The same contract computed the way an eager framework does, one full pass per op:
 * mix -> log_softmax -> nll -> softmax_grad -> scale. workspace: 2 * rows * vocab floats (fp32), 4-byte aligned,
 * overlapping none of the call's buffers (WMSS_ERR_ALIAS); one call at a time per workspace.
 * Exists for benchmarks and as a second opinion in tests.
 */
WMSS_API int wmss_ce_mix_unfused(const wmss_ce_mix_args *args, float *workspace, int64_t workspace_floats);

/* ---------------------------------------------------------------- entropy: the argument descriptor */

/**
 * One entropy call: per-row entropy (nats) of one model's distribution softmax(z), fused with its NLL, the quantity
 * WD-DS averages over answer positions. The same conventions as ce_mix with lambda = 1 (one input, no gradients):
 * fp32 accumulation, row sums in double; statistics for ignored rows too. `size` must be sizeof(wmss_entropy_args)
 * (the descriptor's version: another layout is rejected with WMSS_ERR_VERSION); start from
 * wmss_entropy_args_default().
 *
 * Required: z, entropy. Optional: labels and nll together (both NULL: no NLL), lse.
 */
typedef struct wmss_entropy_args {
    uint64_t size;            /* sizeof(wmss_entropy_args) */
    int32_t dtype;            /* wmss_dtype of z */
    uint32_t flags;           /* WMSS_FLAG_* */
    int64_t rows, vocab;
    const void *z;            /* [rows, vocab], row stride ld (elements) */
    int64_t ld;
    const int64_t *labels;    /* [rows] or NULL, WMSS_IGNORE_INDEX = no target */
    float *entropy;           /* [rows] entropy of softmax(z), nats */
    float *nll;               /* [rows] lse - z[y] (0 for ignored rows), or NULL: with labels */
    float *lse;               /* [rows] log-sum-exp of z, or NULL */
} wmss_entropy_args;

/** A descriptor with its size set, everything else 0 / NULL. */
static inline wmss_entropy_args wmss_entropy_args_default(void) {
    wmss_entropy_args a;
    char *p = (char *)&a;
    for (unsigned i = 0; i < sizeof a; i++) p[i] = 0;
    a.size = sizeof a;
    return a;
}

/** Entropy (and NLL, lse) of every row on the CPU, one pass per row. */
WMSS_API int wmss_entropy(const wmss_entropy_args *args);

/* ---------------------------------------------------------------- CUDA
 * Same contract as the CPU functions, on device (or managed) memory, asynchronous on `stream` (a cudaStream_t;
 * NULL = the default stream). Arguments are validated on the host before the launch, every pointer included
 * (cudaPointerGetAttributes must call it device or managed memory, whichever allocator it came from); what only
 * the device can see is reported through `status`, an optional device int64[2] that wmss_cuda_status_reset sets
 * to INT64_MAX: status[0] receives the first non-finite row, status[1] the first row whose label is out of range
 * (that row's outputs are NaN). WMSS_FLAG_ALLOW_NONFINITE is not used: the caller reads status. Nothing
 * synchronises with the host, and the runtime's last-error state is left as the caller had it, unless one of our
 * own launches failed (then that error is cleared after being returned).
 * The fused kernel has several variants; the environment variable WMSS_CUDA_CE_MIX_VARIANT ("auto", the default,
 * or "v1" .. "v5"; benchmarks/gpu/NOTES.md) picks one, read once at the first launch.
 * Built when nvcc is found; otherwise every function returns WMSS_ERR_UNSUPPORTED.
 */

/**
 * Number of usable CUDA devices in *count. WMSS_ERR_UNSUPPORTED if built without CUDA, WMSS_ERR_NO_DEVICE (with
 * the driver's reason in wmss_last_error) if there is no device or driver; never aborts.
 */
WMSS_API int wmss_cuda_device_count(int *count);
/** "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs, 79.1 GiB)" for the current device. */
WMSS_API int wmss_cuda_device_name(char *buf, int len);
/** Where ptr lives: *kind = WMSS_MEMORY_HOST, _DEVICE or _MANAGED (host when CUDA is absent or unaware of it). */
WMSS_API int wmss_cuda_pointer_kind(const void *ptr, int *kind);
WMSS_API int wmss_cuda_malloc(void **ptr, int64_t bytes);
WMSS_API int wmss_cuda_free(void *ptr);
/** Synchronous copy in any direction (cudaMemcpyDefault). */
WMSS_API int wmss_cuda_memcpy(void *dst, const void *src, int64_t bytes);
WMSS_API int wmss_cuda_memset(void *dst, int value, int64_t bytes);
/** Waits for `stream` (NULL: the whole device). */
WMSS_API int wmss_cuda_synchronize(void *stream);
WMSS_API int wmss_cuda_status_reset(int64_t *status, void *stream);

/** One launch: thread-block clusters split long rows on sm_90 so the logits are read from HBM once. */
WMSS_API int wmss_cuda_ce_mix(const wmss_ce_mix_args *args, int64_t *status, void *stream);
/** The unfused baseline on the GPU (one launch per op); workspace: 2 * rows * vocab device floats, as on the CPU. */
WMSS_API int wmss_cuda_ce_mix_unfused(const wmss_ce_mix_args *args, int64_t *status, void *stream,
                                      float *workspace, int64_t workspace_floats);
/** The entropy op on the GPU: the fused kernel's algorithm with lambda = 1 and no gradients. */
WMSS_API int wmss_cuda_entropy(const wmss_entropy_args *args, int64_t *status, void *stream);

#ifdef __cplusplus
}
#endif
#endif /* WMSS_H */
