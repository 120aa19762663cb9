package dev.wmss.train.cli;

import dev.wmss.kernels.DType;
import dev.wmss.runtime.WmssTorch;
import dev.wmss.train.loop.Placement;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code selfcheck}: a user's check of an installation on a device, one line per check. The kernels against the
 * CPU kernel (or float64 on the CPU), a WD-JT step and greedy generation against the same on the CPU in fp32, and a
 * few seconds of step throughput. Exit 0 when every check passes, 1 otherwise.
 */
@Command(name = "selfcheck", mixinStandardHelpOptions = true,
        description = "Check this installation on a device: kernels, a WD-JT step and generation against the CPU, throughput.")
final class SelfCheckCommand implements Callable<Integer> {
    @Mixin
    SharedOptions.DeviceOption placement;
    @Option(names = "--no-throughput", description = "Skip the few seconds of step throughput.")
    boolean noThroughput;
    @Option(names = "--checks", split = ",", paramLabel = "C", defaultValue = "kernels,step,generation,throughput",
            description = "Which checks: kernels, step, generation, throughput (default ${DEFAULT-VALUE}).")
    java.util.Set<String> checks;
    @Option(names = "--hf-reference", paramLabel = "DIR", description = "Also compare with models saved by Hugging Face"
            + " transformers (each subdirectory of DIR, as benchmarks/gpu/hf_reference.py writes them), on the CPU and the device.")
    java.nio.file.Path hfReference;

    @Override
    public Integer call() {
        Placement where = Placement.current();
        Map<String, String> build = WmssTorch.buildInfo();
        System.out.println("selfcheck on " + where + " (libwmss_torch: " + build.get("flavour") + " flavour, libtorch "
                + build.get("libtorch") + ", CUDA devices " + WmssTorch.cudaDeviceCount() + ")");
        List<SelfChecks.Result> results = new ArrayList<>();
        for (String c : checks) {
            if (!List.of("kernels", "step", "generation", "throughput").contains(c)) {
                throw new IllegalArgumentException("--checks: unknown check " + c + " (kernels, step, generation, throughput)");
            }
        }
        int[][] shapes = {{7, 1000}, {33, 32003}, {3, 151936}, {2, 262147}};
        long seed = 1;
        if (checks.contains("kernels")) {
            for (DType t : new DType[]{DType.F32, DType.BF16}) {
                for (int[] s : shapes) results.add(print(SelfChecks.ceMix(where, t, s[0], s[1], seed++)));
            }
        }
        if (checks.contains("step")) results.add(print(SelfChecks.wdjtStep(where)));
        if (checks.contains("generation")) results.add(print(SelfChecks.generation(where)));
        if (hfReference != null) {
            try (var dirs = java.nio.file.Files.list(hfReference)) {
                for (java.nio.file.Path d : dirs.filter(p -> java.nio.file.Files.exists(p.resolve("reference.json"))).sorted().toList()) {
                    results.add(print(SelfChecks.hfReference(d, "cpu")));
                    if (where.cuda()) results.add(print(SelfChecks.hfReference(d, where.device())));
                }
            } catch (java.io.IOException e) {
                results.add(print(new SelfChecks.Result("vs transformers", false, "cannot list " + hfReference + ": " + e)));
            }
        }
        if (!noThroughput && checks.contains("throughput")) results.add(print(SelfChecks.throughput(where)));
        long failed = results.stream().filter(r -> !r.pass()).count();
        System.out.println(failed == 0 ? "selfcheck: all " + results.size() + " checks passed"
                : "selfcheck: " + failed + " of " + results.size() + " checks FAILED");
        return failed == 0 ? 0 : 1;
    }

    private static SelfChecks.Result print(SelfChecks.Result r) {
        System.out.println(r);
        System.out.flush();
        return r;
    }
}
