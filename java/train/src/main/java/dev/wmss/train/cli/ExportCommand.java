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
        // the model's tokenizer goes with it (a Hugging Face directory holds both), and its generation config
        var tok = dev.wmss.train.loop.HfModelDir.tokenizerFilesOf(model.dir);
        if (tok.isEmpty()) { // the byte tokenizer's ids for a byte-level model; else none can be known
            var bytes = new dev.wmss.train.data.ByteTokenizer();
            boolean byteModel = SharedOptions.vocabSize(model.dir, "--model") == bytes.vocabSize();
            dev.wmss.train.loop.HfModelDir.complete(out.path, java.util.Map.of(), model.dir, byteModel ? bytes.bos() : -1,
                    byteModel ? bytes.eos() : -1);
        } else {
            try (var t = dev.wmss.train.data.HfTokenizer.load(model.dir)) {
                dev.wmss.train.loop.HfModelDir.complete(out.path, t, model.dir);
            }
        }
        System.out.println("exported " + model.dir + " -> " + out.path + " (" + dtype + ")");
        return 0;
    }
}
