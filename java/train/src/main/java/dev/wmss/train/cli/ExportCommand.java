package dev.wmss.train.cli;

import dev.wmss.kernels.DType;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.loop.OutputDir;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = "Write a model (e.g. a run's strong/) as a plain Hugging Face checkpoint.")
final class ExportCommand implements Callable<Integer> {
    @Mixin
    SharedOptions.ModelOption model;
    @Mixin
    SharedOptions.Out out;
    @Option(names = "--dtype", defaultValue = "BF16", description = "F32 or BF16 (default ${DEFAULT-VALUE}).")
    DType dtype;
    @Option(names = "--shard-bytes", defaultValue = "5000000000", description = "Shard size, 0 = one file (default ${DEFAULT-VALUE}).")
    long shardBytes;

    @Override
    public Integer call() {
        if (dev.wmss.train.loop.DataParallel.environmentRank() != 0) return 0; // under a launcher: rank 0's job
        if (dtype != DType.F32 && dtype != DType.BF16) throw new IllegalArgumentException("--dtype must be F32 or BF16");
        if (shardBytes < 0) throw new IllegalArgumentException("--shard-bytes must be >= 0, got " + shardBytes);
        CommandFiles.requireModel(model.dir, "--model");
        CommandFiles.requireNotAnInput(out.path, "--out", "--model directory", model.dir);
        OutputDir.requireWritable(out.path, "--out");
        try (TorchModel m = TorchModel.load(model.dir)) {
            m.save(out.path, dtype, shardBytes);
        }
        // the model's tokenizer goes with it (a Hugging Face directory holds both)
        if (java.nio.file.Files.isRegularFile(model.dir.resolve("tokenizer.json"))) {
            dev.wmss.train.loop.OutputDir.copyInto(dev.wmss.train.data.HfTokenizer.files(model.dir.resolve("tokenizer.json")), out.path);
        }
        System.out.println("exported " + model.dir + " -> " + out.path + " (" + dtype + ")");
        return 0;
    }
}
