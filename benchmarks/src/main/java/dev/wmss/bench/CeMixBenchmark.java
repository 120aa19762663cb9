package dev.wmss.bench;

import dev.wmss.kernels.Backend;
import dev.wmss.kernels.DType;
import dev.wmss.kernels.Logits;
import dev.wmss.kernels.MixCrossEntropy;
import dev.wmss.kernels.MixCrossEntropy.Variant;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * ce_mix forward + backward (both gradients, out of place) on N x V logits, per variant. The minimal memory
 * traffic is 4·N·V·sizeof(dtype): read both logit matrices once, write both gradients once; benchmarks/report.py
 * turns the times into GB/s and compares them with {@link CopyBenchmark} from the same run.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class CeMixBenchmark {
    /** N x V. */
    @Param({"2048x32000", "512x151936"})
    public String shape;
    @Param({"F32", "BF16"})
    public DType dtype;
    @Param({"FUSED", "UNFUSED", "LIBTORCH", "JAVA"})
    public Variant variant;

    private Arena arena;
    private MixCrossEntropy.Call call;

    @Setup(Level.Trial)
    public void setup() {
        String[] nv = shape.split("x");
        int rows = Integer.parseInt(nv[0]), vocab = Integer.parseInt(nv[1]);
        System.out.println("# " + Backend.current());
        arena = Arena.ofShared();
        Logits strong = Logits.allocate(arena, dtype, rows, vocab), weak = Logits.allocate(arena, dtype, rows, vocab);
        Logits gs = Logits.allocate(arena, dtype, rows, vocab), gw = Logits.allocate(arena, dtype, rows, vocab);
        MemorySegment labels = arena.allocate(8L * rows, 64);
        IntStream.range(0, rows).parallel().forEach(r -> {
            SplittableRandom rnd = new SplittableRandom(r);
            for (int v = 0; v < vocab; v++) {
                strong.set(r, v, (float) (rnd.nextGaussian() * 2));
                weak.set(r, v, (float) (rnd.nextGaussian() * 2));
            }
            labels.setAtIndex(ValueLayout.JAVA_LONG, r, rnd.nextInt(10) == 0 ? MixCrossEntropy.IGNORE_INDEX : rnd.nextInt(vocab));
        });
        call = MixCrossEntropy.of(strong, weak, labels).lambda(0.5f).gradStrong(gs).gradWeak(gw)
                .rowLoss(arena.allocate(4L * rows, 64)).variant(variant);
        if (variant == Variant.UNFUSED) call.workspace(arena.allocate(8L * rows * vocab, 64));
        gs.data().fill((byte) 0); // touch every page before timing
        gw.data().fill((byte) 0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public double ceMix() {
        return call.run();
    }
}
