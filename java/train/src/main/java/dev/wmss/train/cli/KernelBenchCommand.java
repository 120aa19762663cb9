package dev.wmss.train.cli;

import dev.wmss.kernels.Backend;
import dev.wmss.kernels.DType;
import dev.wmss.kernels.Logits;
import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.CeMixArgs;
import dev.wmss.kernels.CeMixBackend;
import dev.wmss.kernels.ParallelCopy;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.stream.IntStream;

/**
 * The WD-JT loss (ce_mix) on random logits: fused vs unfused vs plain Java, with loss, agreement and throughput
 * against this machine's copy bandwidth.
 */
@Command(name = "bench-kernel", mixinStandardHelpOptions = true,
        description = "Time the fused WMSS loss on random logits against the unfused baseline and plain Java.")
final class KernelBenchCommand implements Callable<Integer> {
    @Option(names = "--rows", defaultValue = "1024", description = "Token positions N (default ${DEFAULT-VALUE}).")
    int rows;
    @Option(names = "--vocab", defaultValue = "32000", description = "Vocabulary size V (default ${DEFAULT-VALUE}).")
    int vocab;
    @Option(names = "--dtype", defaultValue = "F32", description = "Logit storage: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
    DType dtype;
    @Option(names = "--lambda", defaultValue = "0.5", description = "Weight of the strong logits (default ${DEFAULT-VALUE}).")
    float lambda;
    @Option(names = "--iters", defaultValue = "7", description = "Timed repetitions; the median is shown (default ${DEFAULT-VALUE}).")
    int iters;
    @Option(names = "--threads", defaultValue = "0", description = "CPU threads (0 = one per core).")
    int threads;
    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default ${DEFAULT-VALUE}).")
    long seed;
    @Option(names = "--skip-java", description = "Skip the (slow) plain-Java reference.")
    boolean skipJava;

    @Override
    public Integer call() {
        if (rows < 1 || vocab < 1 || iters < 1) throw new IllegalArgumentException("--rows, --vocab and --iters must be >= 1");
        Backend.setThreads(threads);
        Backend backend = Backend.current();
        System.out.println("wmss-native bench-kernel: WD-JT loss (ce_mix) on random logits");
        System.out.println("  " + backend);
        System.out.printf(Locale.ROOT, "  N x V = %d x %d %s, lambda %.2f, %d%% of rows ignored%n", rows, vocab, dtype,
                lambda, 10);
        try (Arena arena = Arena.ofShared()) {
            Logits.Host strong = Logits.allocate(arena, dtype, rows, vocab), weak = Logits.allocate(arena, dtype, rows, vocab);
            Logits.Host gs = Logits.allocate(arena, dtype, rows, vocab), gw = Logits.allocate(arena, dtype, rows, vocab);
            MemorySegment labels = arena.allocate(8L * rows, 64);
            fill(strong, weak, labels);
            long elems = (long) rows * vocab;
            double bytes = 4.0 * elems * dtype.bytes(); // read both inputs once, write both gradients once
            MemorySegment ws = arena.allocate(8 * elems, 64);

            double copyMs = timeCopy(arena, (long) (bytes / 2));
            double copyGBs = bytes / (copyMs * 1e6);
            System.out.printf(Locale.ROOT, "  copy bandwidth (wmss_copy, read+write): %.1f GB/s%n%n", copyGBs);
            System.out.printf(Locale.ROOT, "  %-12s %12s %10s %9s %9s%n", "backend", "loss", "ms", "GB/s", "vs copy");
            double fusedLoss = Double.NaN, fusedMs = 0, unfusedMs = 0;
            float[] fusedGrad = null;
            CeMixArgs call = CeMix.of(strong, weak, labels).lambda(lambda).gradStrong(gs).gradWeak(gw).build();
            CeMixBackend unfused = CeMixBackend.cpuUnfused(ws);
            for (CeMixBackend v : new CeMixBackend[]{CeMixBackend.CPU_FUSED, unfused, CeMixBackend.JAVA}) {
                if (v == CeMixBackend.JAVA && skipJava) continue;
                int n = v == CeMixBackend.JAVA ? 1 : iters;
                double[] ms = new double[n];
                double loss = v.run(call); // warm-up
                for (int i = 0; i < n; i++) {
                    long t0 = System.nanoTime();
                    loss = v.run(call);
                    ms[i] = (System.nanoTime() - t0) / 1e6;
                }
                double med = median(ms);
                System.out.printf(Locale.ROOT, "  %-12s %12.6f %10.2f %9.2f %8.0f%%%n", v.name(),
                        loss, med, bytes / (med * 1e6), 100 * bytes / (med * 1e6) / copyGBs);
                if (v == CeMixBackend.CPU_FUSED) {
                    fusedLoss = loss;
                    fusedMs = med;
                    fusedGrad = sample(gs);
                } else {
                    if (v == unfused) unfusedMs = med;
                    check(v, fusedLoss, loss, fusedGrad, sample(gs));
                }
            }
            System.out.printf(Locale.ROOT, "%n  fused is %.2fx faster than unfused and reaches %.0f%% of copy bandwidth%n",
                    unfusedMs / fusedMs, 100 * bytes / (fusedMs * 1e6) / copyGBs);
        }
        return 0;
    }

    private void fill(Logits.Host strong, Logits.Host weak, MemorySegment labels) {
        IntStream.range(0, rows).parallel().forEach(r -> {
            SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + r);
            for (int v = 0; v < vocab; v++) {
                strong.set(r, v, (float) (rnd.nextGaussian() * 2));
                weak.set(r, v, (float) (rnd.nextGaussian() * 2));
            }
            labels.setAtIndex(ValueLayout.JAVA_LONG, r, rnd.nextInt(10) == 0 ? CeMix.IGNORE_INDEX : rnd.nextInt(vocab));
        });
    }

    private static double timeCopy(Arena arena, long bytes) {
        MemorySegment a = arena.allocate(bytes, 64), b = arena.allocate(bytes, 64);
        // distinct contents: a hypervisor may merge identical (e.g. zero) pages and flatter the reads
        for (long i = 0; i + 8 <= bytes; i += 8) a.set(ValueLayout.JAVA_LONG_UNALIGNED, i, i * 0x9E3779B97F4A7C15L);
        ParallelCopy.copy(b, a); // touch both
        double[] ms = new double[5];
        for (int i = 0; i < ms.length; i++) {
            long t0 = System.nanoTime();
            ParallelCopy.copy(b, a);
            ms[i] = (System.nanoTime() - t0) / 1e6;
        }
        return median(ms);
    }

    private float[] sample(Logits.Host g) {
        int n = (int) Math.min(4096, (long) rows * vocab);
        float[] s = new float[n];
        for (int i = 0; i < n; i++) s[i] = g.get((long) i * 7919 % rows, (long) i * 104729 % vocab);
        return s;
    }

    private static void check(CeMixBackend v, double refLoss, double loss, float[] ref, float[] got) {
        double maxDiff = 0;
        for (int i = 0; i < ref.length; i++) maxDiff = Math.max(maxDiff, Math.abs(ref[i] - got[i]));
        if (Math.abs(refLoss - loss) > 1e-4 * Math.max(1, Math.abs(refLoss)) || maxDiff > 1e-3) {
            throw new IllegalStateException(v.name() + " disagrees with fused: loss " + loss + " vs " + refLoss
                    + ", max gradient difference " + maxDiff);
        }
    }

    private static double median(double[] xs) {
        double[] s = xs.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }
}
