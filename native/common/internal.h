/* What the CPU and CUDA sources share (not part of the ABI): error reporting and argument validation. */
#ifndef WMSS_INTERNAL_H
#define WMSS_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "wmss.h"
#include "wmss_dev.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Stores a printf-style message for wmss_last_error() and returns status. */
int wmss_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void wmss_clear_error(void);

size_t wmss_dtype_size(int dtype);

/** How this flavour of the library was built for CUDA ("cuda 13.0 sm 80-real 90", or "not built"). */
const char *wmss_cuda_build_info(void);

/** Where the labels are: the host validates label ranges only for host labels (the GPU reports its own). */
enum { WMSS_LABELS_ON_DEVICE = 0, WMSS_LABELS_ON_HOST = 1 };

/**
 * Validates a ce_mix descriptor before any output is touched: its size (version), dtype, shapes, NULLs (labels
 * and loss are required unless allow_no_labels: wmss_entropy without labels), flags, lambda, inv_norm,
 * alignment, label range (host labels only) and aliasing. fn names the caller in messages.
 */
int wmss_check_ce_mix_args(const wmss_ce_mix_args *a, const char *fn, int labels_on_host, int allow_no_labels);
/** WMSS_ERR_ALIAS when the unfused baselines' workspace (floats 4-byte elements) overlaps a buffer of the call. */
int wmss_check_workspace(const wmss_ce_mix_args *a, const void *workspace, int64_t floats, const char *fn);

/**
 * The entropy op is ce_mix of one model (lambda = 1, z_weak = z_strong) without gradients: checks what only the
 * entropy descriptor can get wrong (NULL, its size, entropy required, labels and nll together) and writes the
 * equivalent ce_mix descriptor to *out (nll as its loss), whose own check the caller then runs.
 */
int wmss_entropy_as_ce_mix(const wmss_entropy_args *e, const char *fn, wmss_ce_mix_args *out);

#ifdef __cplusplus
}
#endif
#endif
