package dev.wmss.bench;

import dev.wmss.kernels.Backend;
import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.DType;
import dev.wmss.kernels.Entropy;
import dev.wmss.kernels.EntropyArgs;
import dev.wmss.kernels.EntropyBackend;
import dev.wmss.kernels.KernelBackends;
import dev.wmss.kernels.Logits;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * The entropy op (WD-DS: entropy, NLL and lse of every row of one model's N x V logits), per backend. The minimal
 * memory traffic is N·V·sizeof(dtype): the logits are read once, the per-row outputs are negligible. Run it with
 * {@code java -jar benchmarks/target/benchmarks.jar EntropyBenchmark CopyBenchmark} to set it against the copy
 * bandwidth of the same run.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class EntropyBenchmark {
    /** N x V. */
    @Param({"2048x32000", "512x151936", "16x16000"})
    public String shape;
    @Param({"F32", "BF16"})
    public DType dtype;
    @Param({"cpu", "java"})
    public String backend;

    private Arena arena;
    private EntropyArgs args;
    private EntropyBackend impl;

    @Setup(Level.Trial)
    public void setup() {
        String[] nv = shape.split("x");
        int rows = Integer.parseInt(nv[0]), vocab = Integer.parseInt(nv[1]);
        System.out.println("# " + Backend.current());
        arena = Arena.ofShared();
        Logits.Host z = Logits.allocate(arena, dtype, rows, vocab);
        MemorySegment labels = arena.allocate(8L * rows, 64);
        IntStream.range(0, rows).parallel().forEach(r -> {
            SplittableRandom rnd = new SplittableRandom(r);
            for (int v = 0; v < vocab; v++) z.set(r, v, (float) (rnd.nextGaussian() * 2));
            labels.setAtIndex(ValueLayout.JAVA_LONG, r, rnd.nextInt(10) == 0 ? CeMix.IGNORE_INDEX : rnd.nextInt(vocab));
        });
        args = Entropy.of(z, arena.allocate(4L * rows, 64)).labels(labels, arena.allocate(4L * rows, 64))
                .lse(arena.allocate(4L * rows, 64)).build();
        impl = KernelBackends.entropy(backend);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public void entropy() {
        impl.run(args);
    }
}
