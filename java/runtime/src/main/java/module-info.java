/**
 * wmss-runtime: the model layer of wmss-native on libtorch (libwmss_torch): {@link dev.wmss.runtime.TorchModel}
 * (Llama/Qwen-style decoders from safetensors, AdamW, generation, devices and precision),
 * {@link dev.wmss.runtime.FusedHead} (WD-JT's loss per chunk of rows, the N x V logits never whole) and
 * {@link dev.wmss.runtime.ProcessGroup} (data parallel through c10d). It adds libtorch's ce_mix to the kernels'
 * backends as "libtorch".
 */
module dev.wmss.runtime {
    requires transitive dev.wmss.kernels;

    exports dev.wmss.runtime;

    provides dev.wmss.kernels.CeMixBackend with dev.wmss.runtime.CeMixTorch;
}
