package dev.wmss.train.cli;

import dev.wmss.kernels.Backend;
import dev.wmss.train.experiment.Experiment;
import dev.wmss.train.experiment.ExperimentSpec;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.concurrent.Callable;

/** The experiment that tests WMSS with its controls, regime gates, paired seeds and statistics. */
@Command(name = "experiment", mixinStandardHelpOptions = true, defaultValueProvider = SharedOptions.Defaults.class,
        description = {"Tests WMSS with its controls on the built-in task (CPU, about 30 minutes; --quick: a smoke test).",
                "A base model trained as a plain language model, M1 = SFT until near saturation, the regime gates checked"
                        + " first, then per paired seed the arms (control, SFT 1+1, WMSS, WD-DS only, WD-JT only, temperature"
                        + " control, weak frozen, a lambda sweep), scored by teacher-forced exact match. Writes report.md,"
                        + " results.csv, differences.csv and plots/ in --out."})
final class ExperimentCommand implements Callable<Integer>, ReproducibleCommand {
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
    @Option(names = "--quick", description = "Tiny sizes (seconds): a smoke test that runs every stage and checks that"
            + " every trained model learned; the gates are reported, not enforced.")
    boolean quick;
    @Option(names = "--seeds", paramLabel = "N", description = "Paired seeds (default: 5; --quick: 2).")
    Integer seeds;
    @Option(names = "--train-size", paramLabel = "N", description = "SFT problems per seed (default: 400).")
    Integer train;
    @Option(names = "--train", hidden = true, paramLabel = "N", description = "Renamed --train-size.")
    String oldTrain;
    @Option(names = "--test", paramLabel = "N", description = "Held-out problems, the same for every seed and arm (default: 1500).")
    Integer test;
    @Option(names = "--m1-epochs", paramLabel = "N", description = "SFT epochs that make M1 (default: 12).")
    Integer m1Epochs;
    @Option(names = "--lr", paramLabel = "X", description = "Learning rate of M1 and of every second stage (default: 2e-3).")
    Double lr;
    @Option(names = "--batch", paramLabel = "N", description = "Examples per step (default: 16).")
    Integer batch;
    @Option(names = "--levels", paramLabel = "N", description = "Task levels 1..N, N <= 3 (default: 1).")
    Integer levels;
    @Option(names = "--resume", description = "Continue an experiment in --out: finished stages are read back.")
    boolean resume;
    @Option(names = "--force", description = "Run the arms even when a regime gate fails (the report says so).")
    boolean force;

    @Override
    public Integer call() {
        if (oldTrain != null) {
            throw new IllegalArgumentException("--train is now --train-size (SFT problems per seed; run's --train is a"
                    + " data file)");
        }
        ExperimentSpec.Builder b = (quick ? ExperimentSpec.QUICK : ExperimentSpec.FULL).toBuilder();
        if (seeds != null) b.seeds(seeds);
        if (train != null) b.train(train);
        if (test != null) b.test(test);
        if (m1Epochs != null) b.m1Epochs(m1Epochs);
        if (batch != null) b.batch(batch);
        if (levels != null) b.levels(levels);
        if (lr != null) b.lr(lr);
        ExperimentSpec spec = b.build(); // every value checked here, before any work
        LoggerFactory.getLogger("dev.wmss.train").info("wmss-native experiment: {}", Backend.current());
        Experiment.Result r = Experiment.run(out.path, spec, resume, force, quick);
        System.out.println();
        System.out.println(r.arms().isEmpty() ? "a regime gate failed: no arms were run (see the report)"
                : "arms run on " + r.arms().size() + " seeds" + (r.forced() ? " (forced past a failed gate)" : ""));
        if (r.smoke() != null) {
            System.out.println(r.smoke().passed() ? "smoke check passed: every trained model's held-out token loss is below M0's"
                    : "smoke check FAILED: " + String.join("; ", r.smoke().failures()));
        }
        System.out.println("report with plots: " + out.path.resolve("report.md").toAbsolutePath());
        if (r.smoke() != null) return r.smoke().passed() ? 0 : 3;
        return r.arms().isEmpty() && !r.gatesPassed() ? 3 : 0;
    }
}
