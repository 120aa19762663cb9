package dev.wmss.train.cli;

import dev.wmss.train.loop.Shutdown;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code java -jar wmss-native.jar}: with no arguments prints help. */
@Command(name = "wmss-native", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {"WMSS (weak-driven learning) for the JVM: fused native kernels and the training pipeline.",
                "Pipeline: init (a new M0), sft (M0 -> M1), entropy (H0, H1), select (WD-DS), wmss (WD-JT), eval, export.",
                "Run 'demo' for the whole pipeline on the built-in task."},
        subcommands = {RunCommand.class, DemoCommand.class, ExperimentCommand.class, InitCommand.class, PlanCommand.class, SftCommand.class, EntropyCommand.class, SelectCommand.class, WmssCommand.class,
                EvalCommand.class, ExportCommand.class, InfoCommand.class, SelfCheckCommand.class,
                BenchStepCommand.class, LaunchCommand.class,
                CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        // Logs go through SLF4J (slf4j-simple, configured by simplelogger.properties; the kernels' System.Logger is
        // routed there too). The commands print the backend themselves; the library's INFO line would repeat it.
        if (Boolean.getBoolean("wmss.verbose")) System.setProperty("org.slf4j.simpleLogger.log.dev.wmss.kernels", "debug");
        // signals get their exit status, and the process ends by _exit after the shutdown work, so that no native
        // library's exit-time destructor can hang it; a rank of `launch` stops when the launcher dies
        Shutdown.install();
        Shutdown.followLauncher();
        int code = commandLine().execute(args);
        dev.wmss.train.loop.DataParallel.leave(); // a data-parallel rank leaves its group (no collective)
        Shutdown.exit(code);
    }

    /** What --out is for each command (the shared option's help says it per command). */
    private static final java.util.Map<String, String> OUT_MEANS = java.util.Map.of(
            "run", "The run directory: run.json, each stage's directory (checkpoints, metrics, models), report.md, plots/, final/.",
            "demo", "The demo's run directory: its stages, report.md and plots/.",
            "experiment", "The experiment's directory: per seed and arm its runs, results.csv, report.md, plots/.",
            "sft", "The run directory: train.json, metrics.jsonl, checkpoints/, and the trained model in strong/.",
            "wmss", "The run directory: train.json, metrics.jsonl, checkpoints/, the models in strong/ and weak/ (and WD-DS's"
                    + " files with --selection).",
            "entropy", "The JSONL file of the examples' entropies (one line per example).",
            "select", "The JSONL file of the selected examples.",
            "export", "The model directory to write: config.json, safetensors, the tokenizer's files (Hugging Face's layout).",
            "init", "The new model's directory: config.json, model.safetensors, the tokenizer's files, generation_config.json.");

    static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true);
        for (CommandLine sub : cl.getSubcommands().values()) { // --out's meaning, per command
            CommandLine.Model.CommandSpec spec = sub.getCommandSpec();
            CommandLine.Model.OptionSpec o = spec.findOption("--out");
            String means = OUT_MEANS.get(spec.name());
            if (o != null && means != null) {
                spec.remove(o);
                spec.addOption(CommandLine.Model.OptionSpec.builder(o).description(means).build());
            }
        }
        // --device / --precision (the "placement" mixin of the commands that run models) decide where every model
        // of the command goes, before the command runs
        cl.setExecutionStrategy(parsed -> {
            CommandLine.ParseResult last = parsed;
            while (last.hasSubcommand()) last = last.subcommand();
            // the demo's and the experiment's arithmetic fixed for any x86-64 with AVX2, before libtorch loads
            if (last.commandSpec().userObject() instanceof ReproducibleCommand r && r.reproducible()) {
                try {
                    java.util.List<String> notes = dev.wmss.runtime.ReproducibleCpu.apply();
                    org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger("dev.wmss.train");
                    if (notes.isEmpty()) log.info("reproducible arithmetic: {}", dev.wmss.runtime.ReproducibleCpu.describe());
                    else log.warn("reproducible arithmetic ({}) in part only: {}", dev.wmss.runtime.ReproducibleCpu.describe(),
                            String.join("; ", notes));
                } catch (RuntimeException e) {
                    throw new CommandLine.ExecutionException(last.commandSpec().commandLine(), e.getMessage(), e);
                }
            }
            SharedOptions.DeviceOption d = deviceOption(last.commandSpec());
            if (d != null) {
                try {
                    dev.wmss.train.loop.Placement.use(d.resolve());
                } catch (RuntimeException e) {
                    throw new CommandLine.ExecutionException(last.commandSpec().commandLine(), e.getMessage(), e);
                }
            }
            // one writer per --out: a second process given the same output is refused (rank 0 writes for a job)
            SharedOptions.Out out = outOption(last.commandSpec());
            if (out == null || out.path == null || dev.wmss.train.loop.DataParallel.environmentRank() != 0) {
                return new CommandLine.RunLast().execute(parsed);
            }
            boolean fileOutput = FILE_OUTPUTS.contains(last.commandSpec().name());
            dev.wmss.train.loop.OutputLock lock;
            try {
                lock = dev.wmss.train.loop.OutputLock.acquire(out.path, !fileOutput, "--out");
            } catch (java.io.UncheckedIOException unwritable) { // the command says what is wrong with its --out
                return new CommandLine.RunLast().execute(parsed);
            } catch (RuntimeException e) {
                throw new CommandLine.ExecutionException(last.commandSpec().commandLine(), e.getMessage(), e);
            }
            try (lock) {
                return new CommandLine.RunLast().execute(parsed);
            }
        });
        cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
            String why = e.getMessage() != null && !e.getMessage().isBlank() ? e.getMessage()
                    : e.getClass().getSimpleName() + " (no message; -Dwmss.stacktrace=true shows where)";
            cmd.getErr().println(cmd.getColorScheme().errorText("error: " + why));
            if (Boolean.getBoolean("wmss.stacktrace")) e.printStackTrace(cmd.getErr());
            return 1;
        });
        return cl;
    }

    /** The commands whose --out is a file (the others write a directory). */
    private static final java.util.Set<String> FILE_OUTPUTS = java.util.Set.of("entropy", "select");

    /** The command's --out mixin, or null. */
    private static SharedOptions.Out outOption(CommandLine.Model.CommandSpec spec) {
        for (CommandLine.Model.CommandSpec m : spec.mixins().values()) {
            if (m.userObject() instanceof SharedOptions.Out o) return o;
        }
        return null;
    }

    /** The command's --device / --precision mixin, directly or inside another mixin (TrainOptions), or null. */
    private static SharedOptions.DeviceOption deviceOption(CommandLine.Model.CommandSpec spec) {
        for (CommandLine.Model.CommandSpec m : spec.mixins().values()) {
            if (m.userObject() instanceof SharedOptions.DeviceOption d) return d;
            SharedOptions.DeviceOption inner = deviceOption(m);
            if (inner != null) return inner;
        }
        return null;
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[]{"wmss-native " + (v == null ? "(development build)" : v)};
        }
    }
}
