package dev.wmss.train.cli;

import dev.wmss.runtime.WmssTorch;
import dev.wmss.kernels.NativeCalls;
import dev.wmss.runtime.FusedHead;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Batch;
import dev.wmss.train.loop.Head;
import dev.wmss.train.loop.Placement;
import dev.wmss.train.loop.WdJtObjective;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code bench-step}: the WD-JT training step of two randomly initialised models (both trained, fused head, joint
 * clip, AdamW) as the trainer runs it, timed from Java: median milliseconds and tokens per second, peak device
 * memory, and Java's own share of the step (wall time minus time inside native calls; needs -Dwmss.time=true).
 * With --phases, a second pass synchronises after each phase (forwards, head with both backwards, optimizer) to
 * break the step down. Prints a table and one JSON line.
 */
@Command(name = "bench-step", mixinStandardHelpOptions = true,
        description = "Benchmark the WD-JT training step of two random models (default: Qwen3-0.6B-shaped) on a device.")
final class BenchStepCommand implements Callable<Integer> {
    /** Qwen3-0.6B's shape (hidden 1024, 28 layers, 16 / 8 heads of 128, intermediate 3072, vocabulary 151,936, tied). */
    static final String QWEN3_06B = """
            {"model_type": "qwen3", "vocab_size": 151936, "hidden_size": 1024, "intermediate_size": 3072,
             "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
             "max_position_embeddings": 40960, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
             "tie_word_embeddings": true}""";

    @Mixin
    SharedOptions.DeviceOption placement;
    @Option(names = "--config", paramLabel = "FILE", description = "A config.json for both models (default: Qwen3-0.6B's shape).")
    Path config;
    @Option(names = "--batch", defaultValue = "8", description = "Sequences per step (default ${DEFAULT-VALUE}).")
    int batch;
    @Option(names = "--seq", defaultValue = "1024", description = "Tokens per sequence (default ${DEFAULT-VALUE}).")
    int seq;
    @Option(names = "--steps", defaultValue = "6", description = "Timed steps after 2 warm-up steps (default ${DEFAULT-VALUE}).")
    int steps;
    @Option(names = "--head-chunk-mb", paramLabel = "MB", description = "Fused head chunk budget (default: the device's).")
    Long chunkMb;
    @Option(names = "--phases", description = "Also time each phase, synchronising after each (a second pass).")
    boolean phases;
    @Option(names = "--activation-checkpointing", defaultValue = "off", paramLabel = "off|on", arity = "1",
            converter = TrainOptions.OnOff.class,
            description = "Layer activation checkpointing of both models (default ${DEFAULT-VALUE}).")
    boolean activationCheckpointing;
    @Option(names = "--right-padding", description = "Pad rows as the trainer's collator does (row i's last i/(2·batch) of"
            + " its tokens are padding), instead of every row full.")
    boolean rightPadding;

    @Override
    public Integer call() throws IOException {
        if (batch < 1 || seq < 2 || steps < 1) throw new IllegalArgumentException("--batch >= 1, --seq >= 2, --steps >= 1");
        Placement where = Placement.current();
        String cfg = config == null ? QWEN3_06B : Files.readString(config);
        long chunk = chunkMb != null ? SharedOptions.HeadOption.chunkBytes(chunkMb) : where.defaultHeadChunkBytes();
        System.out.println("bench-step: WD-JT on " + where + ", " + batch + "x" + seq + " tokens" + (rightPadding ? " (right-padded)" : "")
                + (activationCheckpointing ? ", activation checkpointing" : "")
                + ", fused head chunks of "
                + (chunk >> 20) + " MiB" + (NativeCalls.timed() ? "" : " (Java's share needs -Dwmss.time=true)"));
        try (TorchModel s = where.init(cfg, 1); TorchModel w = where.init(cfg, 2)) {
            s.adamW(1e-5, 0.9, 0.999, 1e-8, 0.0);
            w.adamW(1e-5, 0.9, 0.999, 1e-8, 0.0);
            s.setActivationCheckpointing(activationCheckpointing);
            w.setActivationCheckpointing(activationCheckpointing);
            WdJtObjective o = new WdJtObjective(s, w, 0.5f, false, new Head(Head.Mode.FUSED, chunk), true);
            Batch b = SelfChecks.batch(batch, seq, (int) s.vocab(), 5);
            long[] mask = allOnes(b.mask()), labels = nextTokens(b.ids(), batch, seq);
            if (rightPadding) {
                for (int r = 0; r < batch; r++) {
                    int real = seq - (int) ((long) r * seq / (2L * batch));
                    for (int t = real; t < seq; t++) {
                        mask[r * seq + t] = 0;
                        labels[r * seq + t] = Batch.IGNORE_INDEX;
                    }
                    if (real > 0) labels[r * seq + real - 1] = Batch.IGNORE_INDEX;
                }
            }
            b = new Batch(b.ids(), mask, labels, b.examples(), batch, seq);
            double[] ms = new double[steps], javaMs = new double[steps];
            for (int i = -2; i < steps; i++) {
                if (i == 0) WmssTorch.deviceMemory(where.device(), true); // the peak of the timed steps
                long n0 = NativeCalls.nanos(), t0 = System.nanoTime();
                try (Arena arena = Arena.ofConfined()) {
                    o.microBatch(b, 1f / b.supervised(), arena, null);
                }
                o.step(1e-5, 1.0); // reads the gradient norm: the step is done on the device when this returns
                long t1 = System.nanoTime();
                if (i >= 0) {
                    ms[i] = (t1 - t0) / 1e6;
                    javaMs[i] = ((t1 - t0) - (NativeCalls.nanos() - n0)) / 1e6;
                }
            }
            long[] mem = WmssTorch.deviceMemory(where.device(), false);
            double med = median(ms), tokS = batch * (double) seq / (med / 1e3), jMed = median(javaMs);
            double flops = o.flops(b), peak = where.cuda() ? WmssTorch.matmulPeak(where.device(), where.precision()) : Double.NaN;
            System.out.printf(Locale.ROOT, "step      : median %.1f ms (min %.1f, max %.1f) over %d steps%n", med,
                    Arrays.stream(ms).min().orElse(0), Arrays.stream(ms).max().orElse(0), steps);
            System.out.printf(Locale.ROOT, "tokens/s  : %.0f%n", tokS);
            System.out.printf(Locale.ROOT, "memory    : peak %.2f GiB in use (%.2f GiB held by the allocator; device total %.1f GiB)%n",
                    mem[1] / 1073741824.0, mem[2] / 1073741824.0, mem[3] / 1073741824.0);
            if (NativeCalls.timed()) {
                System.out.printf(Locale.ROOT, "java      : %.3f ms per step outside native calls (%.2f%% of the step)%n", jMed, 100 * jMed / med);
            }
            if (!Double.isNaN(peak)) {
                System.out.printf(Locale.ROOT, "mfu       : %.1f%% of the measured %.0f TFLOP/s matmul rate (%.2f TFLOP per step)%n",
                        100 * flops / (med / 1e3) / peak, peak / 1e12, flops / 1e12);
            }
            String phaseJson = phases ? phases(s, w, b, chunk, where) : "null";
            System.out.printf(Locale.ROOT, "{\"device\":\"%s\",\"batch\":%d,\"seq\":%d,\"checkpointing\":%s,\"ms_per_step\":%.3f,"
                            + "\"tokens_per_s\":%.1f,\"peak_gib\":%.3f,\"peak_bytes\":%d,\"java_ms_per_step\":%s,\"mfu\":%s,\"phases_ms\":%s}%n",
                    where, batch, seq, activationCheckpointing, med, tokS, mem[1] / 1073741824.0, mem[1], NativeCalls.timed() ? String.format(Locale.ROOT, "%.4f", jMed) : "null",
                    Double.isNaN(peak) ? "null" : String.format(Locale.ROOT, "%.4f", flops / (med / 1e3) / peak), phaseJson);
        }
        return 0;
    }

    /** Median milliseconds of each phase over the timed steps, synchronising after each phase. */
    private String phases(TorchModel s, TorchModel w, Batch b, long chunk, Placement where) {
        String[] names = {"forward_strong", "forward_weak", "head_and_backward", "optimizer"};
        double[][] t = new double[names.length][steps];
        long rows = (long) b.batch() * b.seq();
        for (int i = -1; i < steps; i++) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment ids = arena.allocateFrom(ValueLayout.JAVA_LONG, b.ids()), mask = arena.allocateFrom(ValueLayout.JAVA_LONG, b.mask());
                MemorySegment labels = arena.allocateFrom(ValueLayout.JAVA_LONG, b.labels());
                long t0 = System.nanoTime();
                s.forwardHidden(ids, mask, b.batch(), b.seq(), true);
                WmssTorch.synchronize(where.device());
                long t1 = System.nanoTime();
                w.forwardHidden(ids, mask, b.batch(), b.seq(), true);
                WmssTorch.synchronize(where.device());
                long t2 = System.nanoTime();
                FusedHead.of(s, w, labels, rows).lambda(0.5f).invNorm(1f / b.supervised()).chunkBytes(chunk).run();
                WmssTorch.synchronize(where.device());
                long t3 = System.nanoTime();
                s.step(1e-5, 1.0);
                w.step(1e-5, 1.0);
                long t4 = System.nanoTime();
                if (i >= 0) {
                    t[0][i] = (t1 - t0) / 1e6;
                    t[1][i] = (t2 - t1) / 1e6;
                    t[2][i] = (t3 - t2) / 1e6;
                    t[3][i] = (t4 - t3) / 1e6;
                }
            }
        }
        StringBuilder json = new StringBuilder("{");
        for (int k = 0; k < names.length; k++) {
            double m = median(t[k]);
            System.out.printf(Locale.ROOT, "phase     : %-18s %8.2f ms%n", names[k], m);
            json.append(k > 0 ? "," : "").append('"').append(names[k]).append("\":").append(String.format(Locale.ROOT, "%.3f", m));
        }
        return json.append('}').toString();
    }

    private static long[] allOnes(long[] mask) {
        long[] out = new long[mask.length];
        Arrays.fill(out, 1);
        return out;
    }

    private static long[] nextTokens(long[] ids, int b, int t) {
        long[] out = new long[ids.length];
        for (int i = 0; i < ids.length; i++) out[i] = i % t == t - 1 ? Batch.IGNORE_INDEX : ids[i + 1];
        return out;
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
