package dev.wmss.bench;

import dev.wmss.kernels.Backend;
import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.CeMixArgs;
import dev.wmss.kernels.CeMixBackend;
import dev.wmss.kernels.DType;
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
 * ce_mix forward + backward (both gradients) on N x V logits, per backend, out of place and in place (what training
 * uses: the gradients overwrite the logits, whose values are restored before every invocation, untimed). The
 * minimal memory traffic is 4·N·V·sizeof(dtype) either way: read both logit matrices once, write both gradients
 * once; benchmarks/report.py turns the times into GB/s against {@link CopyBenchmark} from the same run.
 * The small shape 16x16000 (about 4 MiB of fp32 inputs and gradients) stays in cache between calls: its time per
 * element is the kernel's compute floor, which the report sets against the time 85% of the copy bandwidth allows.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx2g"})
public class CeMixBenchmark {
    /** N x V. */
    @Param({"2048x32000", "512x151936", "16x16000"})
    public String shape;
    @Param({"F32", "BF16"})
    public DType dtype;
    @Param({"cpu-fused", "cpu-unfused", "libtorch", "java"})
    public String backend;
    @Param({"out-of-place", "in-place"})
    public String mode;

    private Arena arena;
    private CeMixArgs args;
    private CeMixBackend impl;
    private MemorySegment strong0, weak0;
    private Logits.Host strong, weak;

    @Setup(Level.Trial)
    public void setup() {
        String[] nv = shape.split("x");
        int rows = Integer.parseInt(nv[0]), vocab = Integer.parseInt(nv[1]);
        System.out.println("# " + Backend.current());
        arena = Arena.ofShared();
        strong = Logits.allocate(arena, dtype, rows, vocab);
        weak = Logits.allocate(arena, dtype, rows, vocab);
        MemorySegment labels = arena.allocate(8L * rows, 64);
        IntStream.range(0, rows).parallel().forEach(r -> {
            SplittableRandom rnd = new SplittableRandom(r);
            for (int v = 0; v < vocab; v++) {
                strong.set(r, v, (float) (rnd.nextGaussian() * 2));
                weak.set(r, v, (float) (rnd.nextGaussian() * 2));
            }
            labels.setAtIndex(ValueLayout.JAVA_LONG, r, rnd.nextInt(10) == 0 ? CeMix.IGNORE_INDEX : rnd.nextInt(vocab));
        });
        CeMixArgs.Builder b = CeMix.of(strong, weak, labels).lambda(0.5f).rowLoss(arena.allocate(4L * rows, 64));
        if (mode.equals("in-place")) {
            strong0 = arena.allocate(strong.data().byteSize(), 64).copyFrom(strong.data());
            weak0 = arena.allocate(weak.data().byteSize(), 64).copyFrom(weak.data());
            b.inPlace();
        } else {
            Logits.Host gs = Logits.allocate(arena, dtype, rows, vocab), gw = Logits.allocate(arena, dtype, rows, vocab);
            gs.data().fill((byte) 0); // touch every page before timing
            gw.data().fill((byte) 0);
            b.gradStrong(gs).gradWeak(gw);
        }
        args = b.build();
        impl = switch (backend) {
            case "cpu-fused" -> KernelBackends.ceMix("cpu-fused");
            case "cpu-unfused" -> KernelBackends.cpuUnfused(arena.allocate(8L * rows * vocab, 64));
            case "libtorch" -> KernelBackends.ceMix("libtorch"); // from wmss-runtime
            case "java" -> KernelBackends.ceMix("java");
            default -> throw new IllegalArgumentException(backend);
        };
    }

    /** In place, every invocation starts from the same logits (the copy is not timed). */
    @Setup(Level.Invocation)
    public void restore() {
        if (strong0 != null) {
            strong.data().copyFrom(strong0);
            weak.data().copyFrom(weak0);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public double ceMix() {
        return impl.run(args);
    }
}
