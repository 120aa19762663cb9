#!/usr/bin/env python3
"""Writes the jextract-shaped binding classes (WmssH, WmssDevH, WmssTorchH) from the function tables below.

The tables mirror native/include/wmss.h, wmss_dev.h and wmss_torch.h; run this after changing one of them:
    python3 scripts/gen-bindings.py
"""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNELS = ("dev.wmss.kernels.ffi", ROOT / "java/kernels/src/main/java/dev/wmss/kernels/ffi")
RUNTIME = ("dev.wmss.runtime.ffi", ROOT / "java/runtime/src/main/java/dev/wmss/runtime/ffi")
LAYOUT = {"int": "JAVA_INT", "long": "JAVA_LONG", "float": "JAVA_FLOAT", "double": "JAVA_DOUBLE",
          "MemorySegment": "ADDRESS"}
SEG = "MemorySegment"
# The fields of struct wmss_ce_mix_args, in order (all naturally aligned: no padding).
CE_MIX_ARGS_FIELDS = [("long", "size"), ("int", "dtype"), ("int", "flags"), ("long", "rows"), ("long", "vocab"),
                      (SEG, "z_strong"), ("long", "ld_strong"), (SEG, "z_weak"), ("long", "ld_weak"), (SEG, "labels"),
                      ("float", "lambda"), ("float", "inv_norm"), (SEG, "loss"), (SEG, "grad_strong"),
                      ("long", "ld_grad_strong"), (SEG, "grad_weak"), ("long", "ld_grad_weak"), (SEG, "lse"),
                      (SEG, "entropy")]
CE_MIX = [(SEG, "args")]
# The fields of struct wmss_entropy_args, in order (naturally aligned: no padding).
ENTROPY_ARGS_FIELDS = [("long", "size"), ("int", "dtype"), ("int", "flags"), ("long", "rows"), ("long", "vocab"),
                       (SEG, "z"), ("long", "ld"), (SEG, "labels"), (SEG, "entropy"), (SEG, "nll"), (SEG, "lse")]
ENTROPY = [(SEG, "args")]
# The fields of struct wmss_torch_fused_head_args (wmss_torch.h), in order (naturally aligned: no padding).
FUSED_HEAD_ARGS_FIELDS = [("long", "size"), (SEG, "strong"), (SEG, "weak"), (SEG, "labels"), ("long", "rows"),
                          ("float", "lambda"), ("float", "inv_norm"), ("long", "chunk_bytes"), ("int", "flags"),
                          ("int", "reserved"), (SEG, "loss"), (SEG, "lse"), (SEG, "entropy"), (SEG, "entropy_strong"),
                          (SEG, "entropy_weak"), (SEG, "non_target_logit_strong"), (SEG, "grad_sq_strong"),
                          (SEG, "grad_hidden_strong"), (SEG, "grad_hidden_weak")]

# (name, return layout, parameters, critical): critical only for tiny calls that never block or call back.
WMSS = [
    ("wmss_last_error", "ADDRESS", [], True),
    ("wmss_abi_version", "JAVA_INT", [], True),
    ("wmss_build_info", "ADDRESS", [], False),
    ("wmss_cpu_isa", "ADDRESS", [], False),
    ("wmss_cpu_set_isa", "JAVA_INT", [(SEG, "name")], False),
    ("wmss_set_num_threads", "JAVA_INT", [("int", "n")], False),
    ("wmss_num_threads", "JAVA_INT", [], False),
    ("wmss_ce_mix_check", "JAVA_INT", CE_MIX, False),
    ("wmss_ce_mix", "JAVA_INT", CE_MIX, False),
    ("wmss_entropy", "JAVA_INT", ENTROPY, False),
    ("wmss_ce_mix_unfused", "JAVA_INT", CE_MIX + [(SEG, "workspace"), ("long", "workspace_floats")], False),
    ("wmss_cuda_device_count", "JAVA_INT", [(SEG, "count")], False),
    ("wmss_cuda_device_name", "JAVA_INT", [(SEG, "buf"), ("int", "len")], False),
    ("wmss_cuda_pointer_kind", "JAVA_INT", [(SEG, "ptr"), (SEG, "kind")], False),
    ("wmss_cuda_malloc", "JAVA_INT", [(SEG, "ptr"), ("long", "bytes")], False),
    ("wmss_cuda_free", "JAVA_INT", [(SEG, "ptr")], False),
    ("wmss_cuda_memcpy", "JAVA_INT", [(SEG, "dst"), (SEG, "src"), ("long", "bytes")], False),
    ("wmss_cuda_memset", "JAVA_INT", [(SEG, "dst"), ("int", "value"), ("long", "bytes")], False),
    ("wmss_cuda_synchronize", "JAVA_INT", [(SEG, "stream")], False),
    ("wmss_cuda_status_reset", "JAVA_INT", [(SEG, "status"), (SEG, "stream")], False),
    ("wmss_cuda_ce_mix", "JAVA_INT", CE_MIX + [(SEG, "status"), (SEG, "stream")], False),
    ("wmss_cuda_entropy", "JAVA_INT", ENTROPY + [(SEG, "status"), (SEG, "stream")], False),
    ("wmss_cuda_ce_mix_unfused", "JAVA_INT", CE_MIX + [(SEG, "status"), (SEG, "stream"), (SEG, "workspace"),
                                                       ("long", "workspace_floats")], False),
]
# wmss_dev.h: for this project's tests and benchmarks only
WMSS_DEV = [
    ("wmss_copy", "JAVA_INT", [(SEG, "dst"), (SEG, "src"), ("long", "bytes")], False),
    ("wmss_cuda_set_variant", "JAVA_INT", [(SEG, "name")], False),
    ("wmss_cuda_variant", "ADDRESS", [], False),
    ("wmss_cuda_host_ce_mix", "JAVA_INT", CE_MIX + [("int", "sm_count"), ("int", "max_cluster"), ("int", "split")],
     False),
    ("wmss_cuda_host_entropy", "JAVA_INT", ENTROPY + [("int", "sm_count"), ("int", "max_cluster"), ("int", "split")],
     False),
    ("wmss_cuda_cluster_limit", "JAVA_INT", [("int", "cc_major"), ("int", "cluster_launch"), ("int", "ptx_version"),
                                             (SEG, "max_cluster")], False),
    ("wmss_cuda_plan", "JAVA_INT", [("long", "rows"), ("long", "vocab"), ("int", "sm_count"), ("int", "max_cluster"),
                                    ("long", "smem_budget"), (SEG, "out4")], False),
]
WMSS_TORCH = [
    ("wmss_torch_last_error", "ADDRESS", [], True),
    ("wmss_torch_version", "ADDRESS", [], True),
    ("wmss_torch_ce_mix_ref", "JAVA_INT", CE_MIX, False),
    ("wmss_torch_model_init", "JAVA_INT", [(SEG, "config_json"), ("long", "seed"), (SEG, "out")], False),
    ("wmss_torch_model_load", "JAVA_INT", [(SEG, "dir"), (SEG, "out")], False),
    ("wmss_torch_model_load_to", "JAVA_INT", [(SEG, "dir"), (SEG, "device"), ("int", "precision"), (SEG, "out")], False),
    ("wmss_torch_model_save", "JAVA_INT", [(SEG, "m"), (SEG, "dir")], False),
    ("wmss_torch_model_save_as", "JAVA_INT", [(SEG, "m"), (SEG, "dir"), ("int", "dtype"), ("long", "max_shard_bytes")],
     False),
    ("wmss_torch_model_free", "JAVA_INT", [(SEG, "m")], False),
    ("wmss_torch_model_info", "JAVA_INT", [(SEG, "m"), (SEG, "vocab"), (SEG, "parameters")], False),
    ("wmss_torch_model_forward", "JAVA_INT", [(SEG, "m"), (SEG, "ids"), (SEG, "mask"), ("long", "batch"),
                                              ("long", "seq"), ("int", "with_grad"), (SEG, "logits")], False),
    ("wmss_torch_model_backward", "JAVA_INT", [(SEG, "m"), (SEG, "grad_logits")], False),
    ("wmss_torch_model_adamw", "JAVA_INT", [(SEG, "m"), ("double", "lr"), ("double", "beta1"), ("double", "beta2"),
                                            ("double", "eps"), ("double", "weight_decay")], False),
    ("wmss_torch_model_step", "JAVA_INT", [(SEG, "m"), ("double", "lr"), ("double", "max_grad_norm"),
                                           (SEG, "grad_norm")], False),
    ("wmss_torch_model_grad_norm", "JAVA_INT", [(SEG, "m"), (SEG, "grad_norm")], False),
    ("wmss_torch_model_generate", "JAVA_INT", [(SEG, "m"), (SEG, "prompts"), (SEG, "prompt_lens"), ("long", "batch"),
                                               ("long", "width"), ("long", "max_new"), ("long", "max_len"),
                                               ("long", "eos"), (SEG, "out"), (SEG, "out_lens")], False),
    ("wmss_torch_model_parameter", "JAVA_INT", [(SEG, "m"), (SEG, "name"), (SEG, "data"), (SEG, "grad"),
                                                (SEG, "numel")], False),
    ("wmss_torch_model_save_optimizer", "JAVA_INT", [(SEG, "m"), (SEG, "path")], False),
    ("wmss_torch_model_load_optimizer", "JAVA_INT", [(SEG, "m"), (SEG, "path")], False),
    ("wmss_torch_model_set_trainable", "JAVA_INT", [(SEG, "m"), ("int", "trainable")], False),
    ("wmss_torch_model_set_checkpointing", "JAVA_INT", [(SEG, "m"), ("int", "on")], False),
    ("wmss_torch_model_to", "JAVA_INT", [(SEG, "m"), (SEG, "device"), ("int", "precision")], False),
    ("wmss_torch_model_device", "JAVA_INT", [(SEG, "m"), (SEG, "device_type"), (SEG, "device_index"),
                                             (SEG, "precision")], False),
    ("wmss_torch_build_info", "ADDRESS", [], False),
    ("wmss_torch_cuda_device_count", "JAVA_INT", [(SEG, "count")], False),
    ("wmss_torch_device_memory", "JAVA_INT", [(SEG, "device"), ("int", "reset_peak"), (SEG, "out4")], False),
    ("wmss_torch_device_synchronize", "JAVA_INT", [(SEG, "device")], False),
    # data parallel (c10d): every collective may block up to the group's timeout
    ("wmss_torch_dist_available", "JAVA_INT", [(SEG, "backend"), (SEG, "available")], False),
    ("wmss_torch_dist_init", "JAVA_INT", [(SEG, "backend"), (SEG, "master_addr"), ("int", "master_port"),
                                          ("int", "rank"), ("int", "world_size"), ("int", "local_rank"),
                                          ("long", "timeout_ms"), (SEG, "out")], False),
    ("wmss_torch_dist_free", "JAVA_INT", [(SEG, "pg")], False),
    ("wmss_torch_dist_info", "JAVA_INT", [(SEG, "pg"), (SEG, "rank"), (SEG, "world_size"), (SEG, "local_rank")],
     False),
    ("wmss_torch_dist_barrier", "JAVA_INT", [(SEG, "pg")], False),
    ("wmss_torch_dist_allreduce", "JAVA_INT", [(SEG, "pg"), ("int", "type"), (SEG, "data"), ("long", "count"),
                                               ("int", "op")], False),
    ("wmss_torch_dist_broadcast", "JAVA_INT", [(SEG, "pg"), ("int", "type"), (SEG, "data"), ("long", "count"),
                                               ("int", "root")], False),
    ("wmss_torch_dist_allgather", "JAVA_INT", [(SEG, "pg"), ("int", "type"), (SEG, "in"), ("long", "count"),
                                               (SEG, "out")], False),
    ("wmss_torch_dist_allgatherv", "JAVA_INT", [(SEG, "pg"), ("int", "type"), (SEG, "in"), (SEG, "counts"),
                                                (SEG, "out")], False),
    ("wmss_torch_dist_broadcast_params", "JAVA_INT", [(SEG, "pg"), (SEG, "m"), ("int", "root")], False),
    ("wmss_torch_dist_allreduce_grads", "JAVA_INT", [(SEG, "pg"), (SEG, "m"), ("int", "op"),
                                                     ("long", "bucket_bytes")], False),
    ("wmss_torch_dist_grads_new", "JAVA_INT", [(SEG, "pg"), (SEG, "m"), ("long", "bucket_bytes"), ("int", "overlap"),
                                               (SEG, "out")], False),
    ("wmss_torch_dist_grads_prepare", "JAVA_INT", [(SEG, "g")], False),
    ("wmss_torch_dist_grads_sync", "JAVA_INT", [(SEG, "g"), ("int", "op"), (SEG, "wait_seconds")], False),
    ("wmss_torch_dist_grads_info", "JAVA_INT", [(SEG, "g"), (SEG, "buckets"), (SEG, "elements"), (SEG, "overlapped")],
     False),
    ("wmss_torch_dist_grads_free", "JAVA_INT", [(SEG, "g")], False),
    ("wmss_torch_model_zero", "JAVA_INT", [(SEG, "m"), (SEG, "pg"), ("int", "stage")], False),
    ("wmss_torch_model_zero_info", "JAVA_INT", [(SEG, "m"), (SEG, "out4")], False),
    ("wmss_torch_model_load_optimizer_shards", "JAVA_INT", [(SEG, "m"), (SEG, "dir"), (SEG, "written_world")], False),
    ("wmss_torch_model_forward_hidden", "JAVA_INT", [(SEG, "m"), (SEG, "ids"), (SEG, "mask"), ("long", "batch"),
                                                     ("long", "seq"), ("int", "with_grad"), (SEG, "hidden"),
                                                     (SEG, "hidden_size")], False),
    ("wmss_torch_model_backward_hidden", "JAVA_INT", [(SEG, "m"), (SEG, "grad_hidden")], False),
    ("wmss_torch_fused_head", "JAVA_INT", [(SEG, "args")], False),
    ("wmss_torch_fused_head_plan", "JAVA_INT", [("long", "rows"), ("long", "vocab"), ("int", "models"),
                                                ("long", "chunk_bytes"), (SEG, "out2")], False),
    ("wmss_torch_model_flops", "JAVA_INT", [(SEG, "m"), ("long", "batch"), ("long", "seq"), (SEG, "forward_flops")],
     False),
    ("wmss_torch_sgemm_peak", "JAVA_INT", [(SEG, "flops_per_second")], False),
    ("wmss_torch_matmul_peak", "JAVA_INT", [(SEG, "device"), ("int", "precision"), (SEG, "flops_per_second")], False),
    ("wmss_torch_set_num_threads", "JAVA_INT", [("int", "n")], False),
    ("wmss_torch_num_threads", "JAVA_INT", [(SEG, "n"), (SEG, "passive")], False),
    ("wmss_torch_set_fused_ops", "JAVA_INT", [("int", "on")], False),
    ("wmss_torch_cache_stats", "JAVA_INT", [(SEG, "out4")], False),
    ("wmss_torch_cache_empty", "JAVA_INT", [], False),
]


def generate(cls, lib, header, funcs, where=KERNELS):
    package, outdir = where
    shared = "" if package == KERNELS[0] else "import dev.wmss.kernels.ffi.Downcalls;\nimport dev.wmss.kernels.ffi.NativeTime;\n"
    out = [f"""package {package};

{shared}import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.*;

/**
 * Bindings of {{@code {header}}} (lib{lib}.so), shaped like jextract output: one holder class per function with
 * its descriptor and downcall handle, created on first use and called with {{@code invokeExact}}.
 * Generated by scripts/gen-bindings.py: edit that, not this file.
 */
@SuppressWarnings("unused")
public final class {cls} {{
    private {cls}() {{}}

    private static final class Lib {{
        static final Downcalls.Library LIB = Downcalls.Library.open("{lib}");
    }}
"""]
    for name, ret, args, critical in funcs:
        jret = "int" if ret == "JAVA_INT" else "MemorySegment"
        desc = ", ".join([ret] + [LAYOUT[t] for t, _ in args])
        opt = ", Linker.Option.critical(false)" if critical else ""
        params = ", ".join(f"{t} {n}" for t, n in args)
        names = ", ".join(n for _, n in args)
        out.append(f"""
    private static final class {name} {{
        static final FunctionDescriptor DESC = FunctionDescriptor.of({desc});
        static final MethodHandle HANDLE = Downcalls.handle(Lib.LIB, "{name}", DESC{opt});
    }}

    public static {jret} {name}({params}) {{
        if (Downcalls.TRACE) Downcalls.trace("{name}"{", " + names if names else ""});
        long t0 = NativeTime.ENABLED ? System.nanoTime() : 0;
        try {{
            return ({jret}) {name}.HANDLE.invokeExact({names});
        }} catch (RuntimeException | Error e) {{
            throw e;
        }} catch (Throwable t) {{
            throw new AssertionError("unexpected checked throwable from {name}", t);
        }} finally {{
            if (NativeTime.ENABLED) NativeTime.add(t0);
        }}
    }}
""")
    out.append("}\n")
    (outdir / f"{cls}.java").write_text("".join(out))


def generate_struct(name, header, fields, where=KERNELS):
    """A jextract-shaped struct class: its layout, and a static setter and getter per field."""
    package, outdir = where
    layouts = ",\n            ".join(f'{LAYOUT[t]}.withName("{n}")' for t, n in fields)
    out = [f"""package {package};

import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.MemoryLayout.structLayout;
import static java.lang.foreign.ValueLayout.*;

/**
 * The layout of {{@code struct {name}}} ({{@code {header}}}), shaped like jextract output: one static getter and
 * setter per field. Generated by scripts/gen-bindings.py: edit that, not this file.
 */
@SuppressWarnings("unused")
public final class {name} {{
    private {name}() {{}}

    public static final StructLayout LAYOUT = structLayout(
            {layouts}).withName("{name}");
"""]
    for t, n in fields:
        jt = t
        lay = LAYOUT[t]
        off = f"{n}$OFFSET"
        out.append(f"""
    private static final long {off} = LAYOUT.byteOffset(groupElement("{n}"));

    public static {jt} {n}(MemorySegment struct) {{
        return struct.get({lay}, {off});
    }}

    public static void {n}(MemorySegment struct, {jt} value) {{
        struct.set({lay}, {off}, value);
    }}
""")
    out.append("}\n")
    (outdir / f"{name}.java").write_text("".join(out))


generate_struct("wmss_ce_mix_args", "native/include/wmss.h", CE_MIX_ARGS_FIELDS)
generate_struct("wmss_entropy_args", "native/include/wmss.h", ENTROPY_ARGS_FIELDS)
generate_struct("wmss_torch_fused_head_args", "native/include/wmss_torch.h", FUSED_HEAD_ARGS_FIELDS, RUNTIME)
generate("WmssH", "wmss", "native/include/wmss.h", WMSS)
generate("WmssDevH", "wmss", "native/include/wmss_dev.h", WMSS_DEV)
generate("WmssTorchH", "wmss_torch", "native/include/wmss_torch.h", WMSS_TORCH, RUNTIME)
