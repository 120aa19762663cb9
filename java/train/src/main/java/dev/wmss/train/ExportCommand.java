package dev.wmss.train;

import dev.wmss.kernels.DType;
import dev.wmss.kernels.torch.TorchModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a model (e.g. a run's strong/) as a plain Hugging Face checkpoint.")
final class ExportCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "Model directory (a run's strong/ or checkpoint/strong).")
    Path model;
    @Option(names = "--out", required = true, description = "Output directory.")
    Path out;
    @Option(names = "--dtype", defaultValue = "BF16", description = "F32 or BF16 (default ${DEFAULT-VALUE}).")
    DType dtype;
    @Option(names = "--shard-bytes", defaultValue = "5000000000", description = "Shard size (default ${DEFAULT-VALUE}).")
    long shardBytes;

    @Override
    public Integer call() {
        Runs.requireModel(model, "--model");
        try (TorchModel m = TorchModel.load(model)) {
            m.save(out, dtype, shardBytes);
        }
        System.out.println("exported " + model + " -> " + out + " (" + dtype + ")");
        return 0;
    }
}
