// What differs between the libtorch versions libwmss_torch builds against, in one place: Debian's libtorch 1.13
// (CPU) and libtorch >= 2.4 from a PyTorch wheel (CPU or CUDA). Everything else in native/torch is written once
// against the API both share; a difference is added here as a small function or macro, not as #if in the sources.
#pragma once
#include <torch/torch.h>
#include <torch/version.h>

#include <c10/core/impl/DeviceGuardImplInterface.h>

#define WMSS_TORCH_AT_LEAST(major, minor) \
    (TORCH_VERSION_MAJOR > (major) || (TORCH_VERSION_MAJOR == (major) && TORCH_VERSION_MINOR >= (minor)))

#if WMSS_TORCH_AT_LEAST(2, 0) && !WMSS_TORCH_AT_LEAST(2, 4)
#error "libwmss_torch builds against libtorch 1.13 (Debian) or >= 2.4 (a PyTorch wheel); 2.0-2.3 are not supported"
#endif

// c10::Allocator: allocate() lost its const in 2.x, and copy_data became a pure virtual member.
#if WMSS_TORCH_AT_LEAST(2, 4)
#define WMSS_ALLOCATE_CONST
#define WMSS_ALLOCATOR_COPY_DATA \
    void copy_data(void *dest, const void *src, std::size_t count) const override { default_copy_data(dest, src, count); }
#else
#define WMSS_ALLOCATE_CONST const
#define WMSS_ALLOCATOR_COPY_DATA
#endif

namespace wmss::compat {

/** True where libtorch has scaled_dot_product_attention with grouped-query heads (fused attention on CUDA). */
constexpr bool kHasSdpa = WMSS_TORCH_AT_LEAST(2, 5);
/** True where libtorch has the multi-tensor fused AdamW (_fused_adamw_ with found_inf). */
constexpr bool kHasFusedAdamW = WMSS_TORCH_AT_LEAST(2, 4);

/** Whether libtorch's own optimizer serialisation reads the files wmss-native wrote with it before (1.13 only). */
constexpr bool kLegacyOptimizerFiles = !WMSS_TORCH_AT_LEAST(2, 0);

/** The key of a parameter in an optimizer's state map (a string of the TensorImpl's address in 1.13, the address in 2.x). */
inline auto optimizer_key(const torch::Tensor &p) {
#if WMSS_TORCH_AT_LEAST(2, 4)
    return static_cast<void *>(p.unsafeGetTensorImpl());
#else
    return c10::guts::to_string(p.unsafeGetTensorImpl());
#endif
}

/**
 * softmax(q k^T * scale + mask) v through libtorch's fused attention (flash or memory-efficient kernels on CUDA):
 * q [B, nh, T, d], k and v [B, nkv, S, d] (nh a multiple of nkv), mask additive and broadcastable to [B, nh, T, S] or
 * undefined with causal = true. Only where kHasSdpa; the caller keeps the composite path otherwise.
 */
inline torch::Tensor sdpa(const torch::Tensor &q, const torch::Tensor &k, const torch::Tensor &v, const torch::Tensor &mask,
                          bool causal, double scale) {
#if WMSS_TORCH_AT_LEAST(2, 5)
    c10::optional<torch::Tensor> m;
    if (mask.defined()) m = mask;
    return at::scaled_dot_product_attention(q, k, v, m, 0.0, causal, scale, /*enable_gqa=*/q.size(1) != k.size(1));
#else
    (void)q, (void)k, (void)v, (void)mask, (void)causal, (void)scale;
    TORCH_CHECK(false, "scaled_dot_product_attention needs libtorch >= 2.5");
#endif
}

/**
 * One AdamW step over lists of parameters on one CUDA device (PyTorch's multi-tensor fused kernel): steps are fp32
 * tensors already incremented; found_inf (fp32 scalar on the device, may be undefined) skips the update when it is
 * non-zero, without the host looking at it.
 */
inline void fused_adamw(const std::vector<torch::Tensor> &params, const std::vector<torch::Tensor> &grads,
                        const std::vector<torch::Tensor> &exp_avg, const std::vector<torch::Tensor> &exp_avg_sq,
                        const std::vector<torch::Tensor> &steps, double lr, double beta1, double beta2, double weight_decay,
                        double eps, const torch::Tensor &found_inf) {
#if WMSS_TORCH_AT_LEAST(2, 4)
    c10::optional<torch::Tensor> inf;
    if (found_inf.defined()) inf = found_inf;
    at::_fused_adamw_(params, grads, exp_avg, exp_avg_sq, {}, steps, lr, beta1, beta2, weight_decay, eps,
                      /*amsgrad=*/false, /*maximize=*/false, c10::nullopt, inf);
#else
    (void)params, (void)grads, (void)exp_avg, (void)exp_avg_sq, (void)steps, (void)lr, (void)beta1, (void)beta2,
        (void)weight_decay, (void)eps, (void)found_inf;
    TORCH_CHECK(false, "the fused AdamW needs libtorch >= 2.4");
#endif
}

/** Multiplies every tensor of ts in place by the 0-dim tensor f, without reading f on the host. */
inline void foreach_mul(const std::vector<torch::Tensor> &ts, const torch::Tensor &f) {
#if WMSS_TORCH_AT_LEAST(2, 4)
    at::_foreach_mul_(ts, f);
#else
    for (auto t : ts) t.mul_(f);
#endif
}

/**
 * gw = (fresh ? 0 : gw) + gt @ hc for bf16 gt and hc and an fp32 gw, accumulating in fp32: one product with an fp32
 * output on CUDA where libtorch has out_dtype (checked with 2.11), else a product in gt's dtype added in fp32.
 */
inline void addmm_accumulate(torch::Tensor gw, const torch::Tensor &gt, const torch::Tensor &hc, bool fresh) {
#if WMSS_TORCH_AT_LEAST(2, 11) // earlier releases refuse an fp32 output for some bf16 products
    if (gw.is_cuda()) {
        if (fresh)
            at::mm_out(gw, gt, hc, gw.scalar_type());
        else
            at::addmm_out(gw, gw, gt, hc, gw.scalar_type());
        return;
    }
#endif
    const torch::Tensor product = at::mm(gt, hc);
    if (fresh)
        gw.copy_(product);
    else
        gw.add_(product);
}

/** libtorch's current stream on a CUDA device as a cudaStream_t (as void *), without CUDA's headers; nullptr elsewhere. */
inline void *current_cuda_stream(const c10::Device &device) {
#if WMSS_TORCH_AT_LEAST(2, 4)
    if (!device.is_cuda()) return nullptr;
    const c10::Stream s = c10::impl::getDeviceGuardImpl(c10::DeviceType::CUDA)->getStream(device);
    return s.native_handle();
#else
    (void)device;
    return nullptr;
#endif
}

}  // namespace wmss::compat
