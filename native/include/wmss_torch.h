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
 * wmss_ce_mix computed by libtorch's own ops (mul/add, log_softmax, nll_loss, logsumexp, autograd backward):
 * the independent reference the fused kernels are tested against. Same arguments and conventions as
 * wmss_ce_mix (loss per row unscaled; gradients scaled by inv_norm; outputs must not alias inputs).
 */
WMSS_API int wmss_torch_ce_mix_ref(int dtype, int64_t rows, int64_t vocab,
                                   const void *z_strong, int64_t ld_strong,
                                   const void *z_weak, int64_t ld_weak,
                                   const int64_t *labels, float lambda, float inv_norm,
                                   float *loss,
                                   void *grad_strong, int64_t ld_grad_strong,
                                   void *grad_weak, int64_t ld_grad_weak,
                                   float *lse, float *entropy);

#ifdef __cplusplus
}
#endif
#endif /* WMSS_TORCH_H */
