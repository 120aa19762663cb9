package dev.wmss.train.cli;

import dev.wmss.train.plan.MemoryPlan;
import dev.wmss.train.plan.ModelShape;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

@Command(name = "plan", mixinStandardHelpOptions = true,
        description = {"What a training run will hold per rank, before anything is loaded: model state (bytes per"
                + " parameter of each feature), activations (bytes per token per layer), the fused head, the allocators'"
                + " slack; from the models' config.json alone. Says whether it fits (this machine, or --capacity-gib) and"
                + " what would make it fit. Training runs make the same check before they load a model."})
final class PlanCommand implements Callable<Integer> {
    @Option(names = "--strong", required = true, paramLabel = "M",
            description = "The strong model (SFT's only one): a model directory, a config.json or a preset ("
                    + dev.wmss.train.plan.Presets.NAMES + ").")
    String strong;
    @Option(names = "--weak", paramLabel = "M", description = "WD-JT's weak model (as --strong); none (any case, unless"
            + " a file of that name exists) or left out: SFT's plan, the strong model alone.")
    String weak;
    @Option(names = "--freeze-weak", description = "The weak model is not trained.")
    boolean freezeWeak;
    @Option(names = "--max-len", defaultValue = "256", paramLabel = "T", description = "Tokens per example (default ${DEFAULT-VALUE}).")
    long maxLen;
    @Option(names = "--batch", defaultValue = "32", paramLabel = "B", description = "Examples per micro-batch over all ranks (default ${DEFAULT-VALUE}).")
    long batch;
    @Option(names = "--device", defaultValue = "cpu", paramLabel = "cpu|cuda", description = "Where the models run (default ${DEFAULT-VALUE}).")
    String device;
    @Option(names = "--precision", paramLabel = "fp32|bf16", description = "Default: bf16 on CUDA, fp32 on the CPU.")
    String precision;
    @Option(names = "--world-size", defaultValue = "1", paramLabel = "N", description = "Data-parallel ranks (default ${DEFAULT-VALUE}).")
    int worldSize;
    @Option(names = "--ranks-per-node", paramLabel = "R", description = "Ranks sharing one machine's RAM (default: all of them).")
    Integer ranksPerNode;
    @Option(names = "--zero", defaultValue = "0", paramLabel = "S",
            description = "ZeRO stage 0-3 (DeepSpeed's meaning; training implements 1 on the CPU: --zero 1; 2, 3 and 1 on CUDA"
                    + " are projections) (default ${DEFAULT-VALUE}).")
    int zero;
    @Option(names = "--activation-checkpointing", defaultValue = "off", paramLabel = "off|on", arity = "1",
            converter = TrainOptions.OnOff.class, description = "(default ${DEFAULT-VALUE})")
    boolean checkpointing;
    @Option(names = "--head-chunk-mb", paramLabel = "MB", description = "The fused head's chunk budget (default: 320 on the CPU, 1024 on CUDA).")
    Long headChunkMb;
    @Option(names = "--capacity-gib", paramLabel = "G",
            description = "Memory per device (CUDA) or per machine (CPU) to check against (default: this machine's, where known).")
    Double capacityGib;
    @Option(names = "--json", description = "The plan as JSON (device_bytes_per_rank, host_bytes_per_rank, the parts).")
    boolean json;

    @Override
    public Integer call() {
        boolean cuda = device.toLowerCase(Locale.ROOT).startsWith("cuda");
        if (!cuda && !device.equalsIgnoreCase("cpu")) throw new IllegalArgumentException("--device must be cpu or cuda, got " + device);
        boolean bf16 = precision == null ? cuda : precision.equalsIgnoreCase("bf16");
        if (precision != null && !bf16 && !precision.equalsIgnoreCase("fp32")) {
            throw new IllegalArgumentException("--precision must be fp32 or bf16, got " + precision);
        }
        long chunk = SharedOptions.HeadOption.chunkBytes(headChunkMb != null ? headChunkMb : cuda ? 1024 : 320);
        if (capacityGib != null && !(capacityGib > 0 && Double.isFinite(capacityGib))) {
            throw new IllegalArgumentException("--capacity-gib must be > 0 and finite, got " + capacityText());
        }
        String weakModel = weak == null || weak.equalsIgnoreCase("none") && !java.nio.file.Files.exists(java.nio.file.Path.of(weak))
                ? null : weak;
        MemoryPlan.Input in = new MemoryPlan.Input(ModelShape.of(strong), weakModel == null ? null : ModelShape.of(weakModel),
                !freezeWeak, batch, maxLen, cuda, bf16, worldSize, ranksPerNode != null ? ranksPerNode : worldSize, zero,
                checkpointing, chunk);
        double capacity = capacityGib != null ? capacityGib * (1L << 30) : MemoryFit.capacity(cuda);
        MemoryPlan plan = MemoryPlan.of(in);
        if (json) {
            var o = plan.json();
            if (capacity > 0) o.addProperty("capacity_bytes", Math.round(capacity));
            System.out.println(new com.google.gson.GsonBuilder().setPrettyPrinting().create().toJson(o));
            return 0;
        }
        System.out.print(plan.table());
        if (capacity <= 0) {
            System.out.println("\n(no capacity to compare with: give --capacity-gib)");
            return 0;
        }
        double need = plan.neededWhereItRuns();
        System.out.printf(Locale.ROOT, "%n%s: needs %s %s, %s available%n", need <= capacity ? "fits" : "does not fit",
                MemoryPlan.gib(need), cuda ? "per device" : "on the machine (every rank on it)", MemoryPlan.gib(capacity));
        if (need > capacity) {
            List<String> fixes = plan.whatWouldFit(capacity);
            System.out.println(fixes.isEmpty() ? "nothing here makes it fit: fewer tokens per micro-batch, more memory, or LoRA"
                    + " (not implemented yet)" : "would fit with: " + String.join("; ", fixes));
        }
        return 0;
    }

    /** --capacity-gib as given on the command line ("NaN", "-0", "1e999"), for its refusal. */
    private String capacityText() {
        String given = spec == null ? null : spec.findOption("--capacity-gib").originalStringValues().stream()
                .reduce((a, b) -> b).orElse(null);
        return given != null ? given : String.valueOf(capacityGib);
    }

    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;
}
