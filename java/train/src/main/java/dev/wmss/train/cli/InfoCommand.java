package dev.wmss.train.cli;

import dev.wmss.kernels.Backend;
import dev.wmss.runtime.WmssTorch;
import picocli.CommandLine.Command;

import java.util.concurrent.Callable;

/** Prints what this machine and build can run. */
@Command(name = "info", mixinStandardHelpOptions = true,
        description = "Show the native build, the chosen backend, CPU variant, threads and CUDA status.")
final class InfoCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        Backend b = Backend.current();
        System.out.println("build    : " + Backend.buildInfo());
        System.out.println("natives  : " + Backend.libraryDirectory() + " (flavour " + Backend.nativesFlavour() + ")");
        System.out.println("backend  : " + b.kind().name().toLowerCase(java.util.Locale.ROOT));
        System.out.println("cpu      : " + b.cpuIsa() + ", " + b.threads() + " threads");
        System.out.println("cuda     : " + b.cudaStatus());
        String torch;
        try {
            torch = WmssTorch.version() + ", " + WmssTorch.numThreads() + " intra-op threads (OpenMP wait "
                    + (WmssTorch.passiveWait() ? "passive" : "active: one intra-op thread beside OpenBLAS") + ")";
        } catch (RuntimeException e) {
            torch = "unavailable: " + e.getMessage();
        }
        System.out.println("libtorch : " + torch);
        if (!torch.startsWith("unavailable")) {
            java.util.Map<String, String> build = WmssTorch.buildInfo();
            int gpus = WmssTorch.cudaDeviceCount();
            dev.wmss.train.loop.Placement where = dev.wmss.train.loop.Placement.resolve(null, null);
            boolean cuda = where.cuda();
            System.out.println("flavour  : " + build.get("flavour") + " (libwmss_torch built against libtorch "
                    + build.get("libtorch") + "); CUDA devices visible: " + gpus);
            System.out.println("models   : default --device " + where.device() + ", --precision "
                    + (where.precision() == dev.wmss.kernels.DType.BF16 ? "bf16" : "fp32"));
            System.out.println("ops      : ce_mix " + (cuda ? "cuda-fused (one launch, libtorch's stream)" : "cpu-fused ("
                    + b.cpuIsa() + ")") + "; attention " + (cuda && !build.get("fused_attention").equals("none")
                    ? "libtorch SDPA (flash / memory-efficient)" : "fused CPU ops (composite off the CPU)")
                    + "; AdamW " + (cuda && build.get("fused_adamw").equals("cuda") ? "PyTorch's fused CUDA kernel"
                    : cuda ? "libtorch's" : "one pass per parameter (CPU)"));
            var dist = java.util.Arrays.stream(dev.wmss.runtime.ProcessGroup.Backend.values())
                    .filter(dev.wmss.runtime.ProcessGroup.Backend::available)
                    .map(x -> x.name().toLowerCase(java.util.Locale.ROOT)).toList();
            System.out.println("parallel : " + String.join(", ", dist) + " (c10d; wmss-native launch)");
        }
        return 0;
    }
}
