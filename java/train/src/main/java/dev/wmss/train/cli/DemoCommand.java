package dev.wmss.train.cli;

import dev.wmss.train.method.Demo;
import dev.wmss.kernels.Backend;
import dev.wmss.train.select.Selection;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.Locale;
import java.util.concurrent.Callable;

/** The built-in default job: the whole pipeline on the built-in task, SFT-2-epochs vs WMSS side by side. */
@Command(name = "demo", mixinStandardHelpOptions = true, defaultValueProvider = SharedOptions.Defaults.class,
        description = {"The built-in default job: 'run' on the built-in arithmetic task with a tiny model (CPU, minutes).",
                "A tiny base model is made first; then plain SFT (2 epochs) vs WMSS (1 SFT epoch + 1 WD-JT epoch) side by"
                        + " side, report.md and plots."})
final class DemoCommand implements Callable<Integer>, ReproducibleCommand {
    @Option(names = "--reproducible", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "The same numbers on any x86-64 CPU with AVX2 (default): kernels, OpenBLAS and libtorch run"
                    + " their AVX2 code on 2 threads instead of this CPU's best; --no-reproducible: the fastest.")
    boolean reproducible;

    @Override
    public boolean reproducible() {
        return reproducible;
    }

    @Mixin
    SharedOptions.DeviceOption placement;
    @Mixin
    SharedOptions.Out out;
    @Mixin
    SharedOptions.Seed seed;
    @Option(names = "--quick", description = "A much smaller run (seconds), for smoke tests.")
    boolean quick;
    @Mixin
    SharedOptions.Joint joint;
    @Mixin
    SharedOptions.SelectionOption selection;
    @Option(names = "--levels", defaultValue = "2", description = "Task difficulty: levels 1..N of the built-in problems, N <= 3 (default ${DEFAULT-VALUE}).")
    int levels;

    @Override
    public Integer call() throws Exception {
        // every option is checked before the first stage starts
        Demo.Options options = new Demo.Options(joint.lambda, joint.freezeWeak, selection.variant);
        Demo.Sizes sizes = Demo.withLevels(quick ? Demo.Sizes.QUICK : Demo.Sizes.DEMO, levels);
        LoggerFactory.getLogger("dev.wmss.train").info("wmss-native demo: {}", Backend.current());
        Demo.Report r = Demo.run(out.path, sizes, seed.value, options);
        if (r.sft() == null) return 0; // a data-parallel rank other than 0: rank 0 reports
        System.out.printf(Locale.ROOT, "%n%-34s %12s %12s%n", "held-out arithmetic (" + r.sft().examples() + ")",
                "exact match", "token loss");
        System.out.printf(Locale.ROOT, "%-34s %11.1f%% %12s%n", "base model M0", 100 * r.base().accuracy(), "");
        System.out.printf(Locale.ROOT, "%-34s %11.1f%% %12.4f%n", "SFT, 2 epochs", 100 * r.sft().accuracy(),
                r.sft().tokenLoss());
        System.out.printf(Locale.ROOT, "%-34s %11.1f%% %12.4f%n", "WMSS, 1 SFT + 1 WD-JT epoch", 100 * r.wmss().accuracy(),
                r.wmss().tokenLoss());
        System.out.printf(Locale.ROOT, "%nWD-JT trained on %d examples (%s); %.0f s in all; runs, metrics and models in %s%n",
                r.active(), options.selection() == Selection.Variant.NONE ? "all, once" : "WD-DS " + options.selection() + " draws",
                r.seconds(), out.path.toAbsolutePath());
        if (!r.wmss().samples().isEmpty()) System.out.println("\na WMSS answer:\n" + r.wmss().samples().get(0));
        System.out.println("\nreport with plots: " + out.path.resolve("report.md").toAbsolutePath());
        return 0;
    }
}
