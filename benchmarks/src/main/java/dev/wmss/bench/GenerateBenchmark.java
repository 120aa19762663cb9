package dev.wmss.bench;

import dev.wmss.runtime.GreedyReference;
import dev.wmss.runtime.TorchModel;
import org.openjdk.jmh.annotations.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * Evaluation's greedy decoding at a real vocabulary: a ~9.8M-parameter Qwen3-shaped model with Qwen3's 151,669
 * tokens (benchmarks/model/qwen3-vocab-10m.json, random weights, so no row stops early), a batch of prompts of
 * GSM8K-like length (60–120 tokens), 64 new tokens each. "cache": TorchModel.generate (prefill once, one token per
 * step, logits of the decoded positions only, argmax natively); "recompute": GreedyReference, the decoding before
 * the KV cache (the whole sequences again at each step, N×V logits, argmax in Java). One shot per iteration.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class GenerateBenchmark {
    @Param({"benchmarks/model/qwen3-vocab-10m.json"})
    public String config;
    @Param({"16"})
    public int batch;
    @Param({"64"})
    public int maxNew;
    @Param({"cache", "recompute"})
    public String method;

    private TorchModel model;
    private int[][] prompts;

    @Setup(Level.Trial)
    public void setup() throws IOException {
        model = TorchModel.init(Files.readString(Path.of(config)), 1);
        SplittableRandom r = new SplittableRandom(7);
        prompts = new int[batch][];
        for (int i = 0; i < batch; i++) {
            prompts[i] = new int[60 + r.nextInt(61)];
            for (int t = 0; t < prompts[i].length; t++) prompts[i][t] = r.nextInt((int) model.vocab());
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        model.close();
    }

    @Benchmark
    public int[][] generate() {
        return method.equals("cache") ? model.generate(prompts, maxNew, 4096, -1)
                : GreedyReference.generate(model, prompts, maxNew, 4096, -1);
    }
}
