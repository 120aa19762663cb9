package dev.wmss.bench;

import dev.wmss.kernels.ParallelCopy;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

/**
 * The memory roofline of this machine: STREAM-style copy (wmss_copy: streaming stores, same threads as the
 * kernels) of 512 MiB between pre-touched buffers of distinct data. Traffic = read + write = 2 x bytes.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class CopyBenchmark {
    @Param({"536870912"})
    public long bytes;

    private Arena arena;
    private MemorySegment src, dst;

    @Setup(Level.Trial)
    public void setup() {
        arena = Arena.ofShared();
        src = arena.allocate(bytes, 64);
        dst = arena.allocate(bytes, 64);
        // distinct page contents (a hypervisor may merge identical pages, which would flatter the reads)
        for (long i = 0; i < bytes; i += 8) src.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, i, i * 0x9E3779B97F4A7C15L);
        dst.fill((byte) 0);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public void copy() {
        ParallelCopy.copy(dst, src);
    }
}
