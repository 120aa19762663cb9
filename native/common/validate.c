/* Argument checks shared by every ce_mix entry point (CPU and CUDA): all of them run before any output is written. */
#include <math.h>

#include "internal.h"

size_t wmss_dtype_size(int dtype) { return dtype == WMSS_DTYPE_BF16 ? 2 : dtype == WMSS_DTYPE_F32 ? 4 : 0; }

typedef struct span {
    const char *name;
    uintptr_t begin, end; /* [begin, end) in bytes; begin == 0: absent */
    int64_t ld;
} span;

static span matrix_span(const char *name, const void *p, int64_t rows, int64_t vocab, int64_t ld, size_t es) {
    span s = {name, (uintptr_t)p, (uintptr_t)p, ld};
    if (p && rows > 0) s.end = s.begin + ((uint64_t)(rows - 1) * (uint64_t)ld + (uint64_t)vocab) * es;
    return s;
}

static span vector_span(const char *name, const void *p, int64_t n, size_t es) {
    span s = {name, (uintptr_t)p, (uintptr_t)p + (uint64_t)(n > 0 ? n : 0) * es, 0};
    return s;
}

static int overlaps(span a, span b) { return a.begin && b.begin && a.begin < b.end && b.begin < a.end; }

enum { N_IN = 3, N_OUT = 5 };

/**
 * The buffers of a call as byte spans: the inputs it reads (an input the op does not read, z_weak when lambda = 1
 * or z_strong when lambda = 0, is absent: it may overlap anything) and the outputs it writes.
 */
static void call_spans(const wmss_ce_mix_args *a, size_t es, span in[N_IN], span out[N_OUT]) {
    const span none = {"unused", 0, 0, 0};
    in[0] = a->lambda != 0.0f ? matrix_span("z_strong", a->z_strong, a->rows, a->vocab, a->ld_strong, es) : none;
    in[1] = a->lambda != 1.0f ? matrix_span("z_weak", a->z_weak, a->rows, a->vocab, a->ld_weak, es) : none;
    in[2] = vector_span("labels", a->labels, a->rows, sizeof(int64_t));
    out[0] = matrix_span("grad_strong", a->grad_strong, a->rows, a->vocab, a->ld_grad_strong, es);
    out[1] = matrix_span("grad_weak", a->grad_weak, a->rows, a->vocab, a->ld_grad_weak, es);
    out[2] = vector_span("loss", a->loss, a->rows, 4);
    out[3] = vector_span("lse", a->lse, a->rows, 4);
    out[4] = vector_span("entropy", a->entropy, a->rows, 4);
}

static int check_matrix(const char *fn, const char *name, const void *p, int64_t ld, int64_t vocab, size_t es) {
    if (!p) return WMSS_OK;
    if (ld < vocab)
        return wmss_fail(WMSS_ERR_SHAPE, "%s: row stride of %s is %lld, less than vocab %lld", fn, name, (long long)ld,
                         (long long)vocab);
    if ((uintptr_t)p % es)
        return wmss_fail(WMSS_ERR_ALIGNMENT, "%s: %s at %p is not aligned to its %zu-byte elements", fn, name, p, es);
    return WMSS_OK;
}

static int check_vector(const char *fn, const char *name, const void *p, size_t es) {
    if (p && (uintptr_t)p % es)
        return wmss_fail(WMSS_ERR_ALIGNMENT, "%s: %s at %p is not aligned to its %zu-byte elements", fn, name, p, es);
    return WMSS_OK;
}

int wmss_check_ce_mix_args(const wmss_ce_mix_args *a, const char *fn, int labels_on_host, int allow_no_labels) {
    if (!a) return wmss_fail(WMSS_ERR_NULL_POINTER, "%s: the argument descriptor is NULL", fn);
    if (a->size != sizeof(wmss_ce_mix_args))
        return wmss_fail(WMSS_ERR_VERSION,
                         "%s: wmss_ce_mix_args.size is %llu but this library (ABI %d) expects %zu: the caller was "
                         "built against another wmss.h (or did not start from wmss_ce_mix_args_default())",
                         fn, (unsigned long long)a->size, WMSS_ABI_VERSION, sizeof(wmss_ce_mix_args));
    if (!allow_no_labels && (!a->labels || !a->loss))
        return wmss_fail(WMSS_ERR_NULL_POINTER, "%s: %s is NULL", fn, a->labels ? "loss" : "labels");
    const size_t es = wmss_dtype_size(a->dtype);
    if (!es) return wmss_fail(WMSS_ERR_DTYPE, "%s: unknown dtype %d (0 = f32, 1 = bf16)", fn, a->dtype);
    if (a->rows < 0 || a->vocab < 1)
        return wmss_fail(WMSS_ERR_SHAPE, "%s: rows = %lld, vocab = %lld (need rows >= 0, vocab >= 1)", fn,
                         (long long)a->rows, (long long)a->vocab);
    /* Every matrix's extent (rows - 1) * ld + vocab, in bytes, must fit in 2^62: no size computation can wrap. */
    const int64_t lds[] = {a->ld_strong, a->ld_weak, a->grad_strong ? a->ld_grad_strong : 0,
                           a->grad_weak ? a->ld_grad_weak : 0};
    for (int i = 0; i < 4 && a->rows > 0; i++) {
        int64_t extent;
        if (lds[i] < 0 || __builtin_mul_overflow(a->rows - 1, lds[i], &extent) ||
            __builtin_add_overflow(extent, a->vocab, &extent) || extent > (INT64_C(1) << 62) / (int64_t)es)
            return wmss_fail(WMSS_ERR_SHAPE, "%s: sizes overflow (rows %lld, vocab %lld, row stride %lld)", fn,
                             (long long)a->rows, (long long)a->vocab, (long long)lds[i]);
    }
    if (!a->z_strong) return wmss_fail(WMSS_ERR_NULL_POINTER, "%s: z_strong is NULL", fn);
    if (!a->z_weak) return wmss_fail(WMSS_ERR_NULL_POINTER, "%s: z_weak is NULL", fn);
    if (!a->labels && (a->grad_strong || a->grad_weak))
        return wmss_fail(WMSS_ERR_NULL_POINTER, "%s: labels is NULL but a gradient is wanted", fn);
    if (a->flags & ~WMSS_FLAG_ALLOW_NONFINITE)
        return wmss_fail(WMSS_ERR_ARGUMENT, "%s: unknown flags 0x%x", fn, (unsigned)a->flags);
    if (!(a->lambda >= 0.0f && a->lambda <= 1.0f))
        return wmss_fail(WMSS_ERR_ARGUMENT, "%s: lambda = %g is outside [0, 1]", fn, (double)a->lambda);
    if (!(a->inv_norm >= 0.0f) || isinf(a->inv_norm))
        return wmss_fail(WMSS_ERR_ARGUMENT, "%s: inv_norm = %g must be finite and >= 0", fn, (double)a->inv_norm);
    int st;
    if ((st = check_matrix(fn, "z_strong", a->z_strong, a->ld_strong, a->vocab, es)) ||
        (st = check_matrix(fn, "z_weak", a->z_weak, a->ld_weak, a->vocab, es)) ||
        (st = check_matrix(fn, "grad_strong", a->grad_strong, a->ld_grad_strong, a->vocab, es)) ||
        (st = check_matrix(fn, "grad_weak", a->grad_weak, a->ld_grad_weak, a->vocab, es)) ||
        (st = check_vector(fn, "labels", a->labels, sizeof(int64_t))) ||
        (st = check_vector(fn, "loss", a->loss, sizeof(float))) ||
        (st = check_vector(fn, "lse", a->lse, sizeof(float))) ||
        (st = check_vector(fn, "entropy", a->entropy, sizeof(float))))
        return st;
    if (a->labels && labels_on_host)
        for (int64_t r = 0; r < a->rows; r++) {
            const int64_t y = a->labels[r];
            if (y != WMSS_IGNORE_INDEX && (y < 0 || y >= a->vocab))
                return wmss_fail(WMSS_ERR_LABEL, "%s: labels[%lld] = %lld is outside [0, %lld) and not the ignore index %d",
                                 fn, (long long)r, (long long)y, (long long)a->vocab, WMSS_IGNORE_INDEX);
        }

    /* Aliasing: an output may coincide exactly with its own input (in place); nothing else may overlap it. */
    span in[N_IN], out[N_OUT];
    call_spans(a, es, in, out);
    for (int i = 0; i < N_OUT; i++) {
        for (int j = 0; j < N_IN; j++) {
            if (!overlaps(out[i], in[j])) continue;
            const int own = (i == 0 && j == 0) || (i == 1 && j == 1);
            if (own && out[i].begin == in[j].begin && out[i].ld == in[j].ld) continue;
            return wmss_fail(WMSS_ERR_ALIAS, "%s: %s overlaps %s (only grad_strong == z_strong and "
                             "grad_weak == z_weak with equal strides are allowed)", fn, out[i].name, in[j].name);
        }
        for (int j = i + 1; j < N_OUT; j++)
            if (overlaps(out[i], out[j]))
                return wmss_fail(WMSS_ERR_ALIAS, "%s: outputs %s and %s overlap", fn, out[i].name, out[j].name);
    }
    return WMSS_OK;
}

int wmss_check_workspace(const wmss_ce_mix_args *a, const void *workspace, int64_t floats, const char *fn) {
    span in[N_IN], out[N_OUT];
    call_spans(a, wmss_dtype_size(a->dtype), in, out);
    const span ws = vector_span("workspace", workspace, floats, 4);
    for (int i = 0; i < N_IN + N_OUT; i++) {
        const span b = i < N_IN ? in[i] : out[i - N_IN];
        if (overlaps(ws, b))
            return wmss_fail(WMSS_ERR_ALIAS, "%s: the workspace overlaps %s (it holds the op's intermediates)", fn,
                             b.name);
    }
    return WMSS_OK;
}

int wmss_entropy_as_ce_mix(const wmss_entropy_args *e, const char *fn, wmss_ce_mix_args *out) {
    if (!e) return wmss_fail(WMSS_ERR_NULL_POINTER, "%s: the argument descriptor is NULL", fn);
    if (e->size != sizeof(wmss_entropy_args))
        return wmss_fail(WMSS_ERR_VERSION,
                         "%s: wmss_entropy_args.size is %llu but this library (ABI %d) expects %zu: the caller was "
                         "built against another wmss.h (or did not start from wmss_entropy_args_default())",
                         fn, (unsigned long long)e->size, WMSS_ABI_VERSION, sizeof(wmss_entropy_args));
    if (!e->entropy) return wmss_fail(WMSS_ERR_NULL_POINTER, "%s: entropy is NULL", fn);
    if (!e->labels != !e->nll)
        return wmss_fail(WMSS_ERR_NULL_POINTER, "%s: %s is NULL: labels and nll go together", fn,
                         e->labels ? "nll" : "labels");
    wmss_ce_mix_args a = wmss_ce_mix_args_default();
    a.dtype = e->dtype;
    a.flags = e->flags;
    a.rows = e->rows;
    a.vocab = e->vocab;
    a.z_strong = a.z_weak = e->z;
    a.ld_strong = a.ld_weak = e->ld;
    a.labels = e->labels;
    a.lambda = 1.0f;
    a.inv_norm = 0.0f;
    a.loss = e->nll;
    a.lse = e->lse;
    a.entropy = e->entropy;
    *out = a;
    return WMSS_OK;
}

int wmss_ce_mix_check(const wmss_ce_mix_args *args) {
    return wmss_check_ce_mix_args(args, "wmss_ce_mix_check", WMSS_LABELS_ON_HOST, 0);
}
