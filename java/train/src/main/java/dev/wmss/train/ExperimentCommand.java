package dev.wmss.train;

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
        description = {"Tests WMSS on the built-in task in a regime that can show its effect (CPU, about 30-60 minutes;",
                "--quick: a minute): a base model trained as a plain language model, M1 = SFT until near saturation, the",
                "regime gates checked first, then per paired seed the arms (control, SFT 1+1, WMSS, WD-DS only, WD-JT only,",
                "temperature control, weak frozen, a lambda sweep), scored by teacher-forced exact match. Writes",
                "report.md, results.csv, differences.csv and plots/ in --out."})
final class ExperimentCommand implements Callable<Integer> {
    @Mixin
    SharedOptions.Out out;
    @Option(names = "--quick", description = "Tiny sizes (about a minute): a smoke test of the whole experiment.")
    boolean quick;
    @Option(names = "--seeds", paramLabel = "N", description = "Paired seeds (default: 5; --quick: 2).")
    Integer seeds;
    @Option(names = "--resume", description = "Continue an experiment in --out: finished stages are read back.")
    boolean resume;
    @Option(names = "--force", description = "Run the arms even when a regime gate fails (the report says so).")
    boolean force;

    @Override
    public Integer call() {
        ExperimentSpec spec = quick ? ExperimentSpec.QUICK : ExperimentSpec.FULL;
        if (seeds != null) {
            if (seeds < 1) throw new IllegalArgumentException("--seeds must be >= 1, got " + seeds);
            spec = spec.withSeeds(seeds);
        }
        LoggerFactory.getLogger("dev.wmss.train").info("wmss-native experiment: {}", Backend.current());
        Experiment.Result r = Experiment.run(out.path, spec, resume, force);
        System.out.println();
        System.out.println(r.arms().isEmpty() ? "a regime gate failed: no arms were run (see the report)"
                : "arms run on " + r.arms().size() + " seeds" + (r.forced() ? " (forced past a failed gate)" : ""));
        System.out.println("report with plots: " + out.path.resolve("report.md").toAbsolutePath());
        return r.arms().isEmpty() && !r.gatesPassed() ? 3 : 0;
    }
}
