package dev.wmss.bench;

import dev.wmss.kernels.Logits;
import dev.wmss.kernels.CeMix;
import dev.wmss.runtime.TorchModel;
import org.openjdk.jmh.annotations.*;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * One SFT step of the ~10M-parameter decoder of benchmarks/model/model-10m.json driven from Java: forward
 * (logits stay native), fused ce_mix in place, backward, AdamW. benchmarks/run-model.sh runs the same step from
 * C++ (model_step.cpp) and reports the Java overhead.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class ModelStepBenchmark {
    @Param({"benchmarks/model/model-10m.json"})
    public String config;
    @Param({"8"})
    public int batch;
    @Param({"128"})
    public int seq;

    private Arena arena;
    private TorchModel model;
    private MemorySegment ids, labels, rowLoss;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        arena = Arena.ofShared();
        model = TorchModel.init(Files.readString(Path.of(config)), 1);
        model.adamW(1e-4, 0.9, 0.95, 1e-8, 0.1);
        long n = (long) batch * seq, vocab = model.vocab();
        ids = arena.allocate(8 * n, 8);
        labels = arena.allocate(8 * n, 8);
        rowLoss = arena.allocate(4 * n, 8);
        for (long i = 0; i < n; i++) {
            ids.setAtIndex(ValueLayout.JAVA_LONG, i, (i * 7919) % vocab);
            labels.setAtIndex(ValueLayout.JAVA_LONG, i, (i * 104729 + 1) % vocab);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
        arena.close();
    }

    @Benchmark
    public double step() {
        Logits.Host z = model.forward(ids, null, batch, seq, true);
        double loss = CeMix.of(z, z, labels).lambda(1f).invNorm(1f / (batch * seq)).gradStrong(z)
                .rowLoss(rowLoss).run();
        model.backward(z);
        model.step(1e-4, 1.0);
        return loss;
    }
}
