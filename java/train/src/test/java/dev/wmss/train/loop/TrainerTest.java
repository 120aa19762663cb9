package dev.wmss.train.loop;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.Collator;
import dev.wmss.train.data.Example;
import dev.wmss.train.task.ArithmeticTasks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** Resume determinism (same batches, same loss curve), checkpoints, metrics and the WD-JT diagnostics. */
public class TrainerTest {
    public static final String TINY = """
            {"model_type": "qwen3", "vocab_size": 259, "hidden_size": 32, "intermediate_size": 64,
             "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
             "tie_word_embeddings": true}""";

    public static Path init(Path dir, long seed) {
        try (TorchModel m = TorchModel.init(TINY, seed)) {
            m.save(dir);
        }
        return dir;
    }

    static List<JsonObject> metrics(Path run) throws IOException {
        return Files.readAllLines(run.resolve("metrics.jsonl")).stream().map(l -> JsonParser.parseString(l).getAsJsonObject()).toList();
    }

    static void copyTree(Path from, Path to) throws IOException {
        try (var s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path q = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(q);
                else Files.copy(p, q);
            }
        }
    }

    static TrainingRun.Result sft(TrainConfig cfg, Collator data, Path init, Path out, boolean resume) {
        return TrainingRun.builder(cfg).data(data, Sampler.all(data.size())).strong(init).out(out).resume(resume).prepare().run();
    }

    static TrainConfig.Builder sftConfig() {
        return TrainConfig.builder(TrainConfig.Mode.SFT).epochs(2).batchSize(8).lr(3e-3).weightDecay(0.01).seed(9)
                .logEvery(5).checkpointEvery(10);
    }

    /** Every file of two model directories, byte for byte (the weights as saved). */
    public static void assertSameBytes(Path a, Path b, String what) throws IOException {
        List<Path> files;
        try (var s = Files.list(a)) {
            files = s.filter(Files::isRegularFile).sorted().toList();
        }
        assertFalse(files.isEmpty(), what + ": no files in " + a);
        for (Path f : files) {
            byte[] x = Files.readAllBytes(f), y = Files.readAllBytes(b.resolve(f.getFileName().toString()));
            assertTrue(java.util.Arrays.equals(x, y), what + ": " + f.getFileName() + " differs");
        }
    }

    /** Loss and gradient norm of every step from `from` (1-based) on, exactly. */
    public static void sameSteps(List<JsonObject> want, List<JsonObject> got, int from, String what) {
        assertEquals(want.size(), got.size(), what + ": steps");
        for (int i = from - 1; i < want.size(); i++) {
            assertEquals(want.get(i).get("step").getAsLong(), got.get(i).get("step").getAsLong());
            for (String k : new String[]{"loss", "grad_norm"}) {
                assertEquals(want.get(i).get(k).getAsDouble(), got.get(i).get(k).getAsDouble(), 0.0,
                        what + ": " + k + " at step " + (i + 1));
            }
        }
    }

    /** A resumed run is the uninterrupted run: the same loss and gradient norm at every step, the same weight bytes. */
    @Test
    void resumeReproducesTheRunBitForBit(@TempDir Path tmp) throws IOException {
        Collator data = new Collator(ArithmeticTasks.generate(80, 1, 3), new ByteTokenizer(), 128);
        Path m0 = init(tmp.resolve("m0"), 1);
        TrainConfig cfg = sftConfig().build();
        TrainingRun.Result full = sft(cfg, data, m0, tmp.resolve("full"), false);
        assertEquals(20, full.steps());
        List<JsonObject> a = metrics(tmp.resolve("full"));
        assertEquals(20, a.size());
        // the checkpoint of step 10 (the last one before the end) is the state of an interrupted run
        Path resumed = tmp.resolve("resumed");
        copyTree(tmp.resolve("full/checkpoints"), resumed.resolve("checkpoints"));
        Files.writeString(resumed.resolve("metrics.jsonl"), String.join("\n",
                Files.readAllLines(tmp.resolve("full/metrics.jsonl"))) + "\n{\"step\": 99}\n");
        java.io.PrintStream stderr = System.err;
        java.io.ByteArrayOutputStream said = new java.io.ByteArrayOutputStream();
        TrainingRun.Result again;
        try {
            System.setErr(new java.io.PrintStream(said, true, java.nio.charset.StandardCharsets.UTF_8));
            again = sft(cfg, data, m0, resumed, true);
        } finally {
            System.setErr(stderr);
        }
        assertEquals(20, again.steps());
        assertTrue(said.toString(java.nio.charset.StandardCharsets.UTF_8).contains(
                "sft: steps 11..99 of an earlier session were lost (no checkpoint after step 10)"), "the loss is said: " + said);
        List<JsonObject> b = metrics(resumed);
        assertEquals(20, b.size(), "lines after the checkpoint are rewritten, stale ones dropped");
        sameSteps(a, b, 11, "SFT resumed at step 10");
        assertSameBytes(full.strong(), again.strong(), "SFT resumed at step 10");

        // WD-JT (both models trained, untied heads): resumed after an odd step
        Collator jtData = new Collator(ArithmeticTasks.generate(24, 2, 5), new ByteTokenizer(), 160);
        Path weak, strong;
        try (TorchModel w = TorchModel.init(TINY.replace("true", "false"), 3); TorchModel s = TorchModel.init(TINY.replace("true", "false"), 4)) {
            w.save(weak = tmp.resolve("weak"));
            s.save(strong = tmp.resolve("strong"));
        }
        TrainConfig jt = TrainConfig.builder(TrainConfig.Mode.WDJT).batchSize(4).lr(3e-3).lambda(0.5f).seed(3)
                .logEvery(1).checkpointEvery(3).build();
        TrainingRun.Result jtFull = TrainingRun.builder(jt).data(jtData, Sampler.all(24)).strong(strong).weak(weak)
                .out(tmp.resolve("jt")).prepare().run();
        Path jtResumed = tmp.resolve("jt-resumed");
        copyTree(tmp.resolve("jt/checkpoints"), jtResumed.resolve("checkpoints"));
        Files.copy(tmp.resolve("jt/metrics.jsonl"), jtResumed.resolve("metrics.jsonl"));
        TrainingRun.Result jtAgain = TrainingRun.builder(jt).data(jtData, Sampler.all(24)).strong(strong).weak(weak)
                .out(jtResumed).resume(true).prepare().run();
        assertEquals(6, jtAgain.steps());
        sameSteps(metrics(tmp.resolve("jt")), metrics(jtResumed), 4, "WD-JT resumed at step 3");
        assertSameBytes(jtFull.strong(), jtAgain.strong(), "WD-JT strong resumed at step 3");
        assertSameBytes(jtFull.weak(), jtAgain.weak(), "WD-JT weak resumed at step 3");
    }

    @Test
    void resumeRefusesAnotherRunNamingEveryDifference(@TempDir Path tmp) throws IOException {
        Collator data = new Collator(ArithmeticTasks.generate(80, 1, 3), new ByteTokenizer(), 128);
        Path m0 = init(tmp.resolve("m0"), 1), run = tmp.resolve("run");
        TrainConfig cfg = sftConfig().build();
        // --resume without a checkpoint is an error, and nothing is written
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sft(cfg, data, m0, run, true));
        assertTrue(e.getMessage().contains("no checkpoint"), e.getMessage());
        assertFalse(Files.exists(run.resolve("metrics.jsonl")));
        sft(cfg, data, m0, run, false);
        String metricsBefore = Files.readString(run.resolve("metrics.jsonl"));
        Collator other = new Collator(ArithmeticTasks.generate(80, 1, 4), new ByteTokenizer(), 128);
        TrainConfig changed = cfg.toBuilder().batchSize(4).epochs(3).lr(1e-3).build();
        e = assertThrows(IllegalArgumentException.class, () -> sft(changed, other, m0, run, true));
        for (String field : new String[]{"--batch: checkpoint 8, now 4", "--epochs: checkpoint 2, now 3", "--lr",
                "data (fingerprint"}) {
            assertTrue(e.getMessage().contains(field), "missing " + field + " in: " + e.getMessage());
        }
        assertFalse(e.getMessage().contains("--seed"), "only differing fields are named: " + e.getMessage());
        assertEquals(metricsBefore, Files.readString(run.resolve("metrics.jsonl")), "a refused resume writes nothing");
        // max-len changes the tokenised data too
        e = assertThrows(IllegalArgumentException.class, () -> sft(cfg, new Collator(ArithmeticTasks.generate(80, 1, 3),
                new ByteTokenizer(), 120), m0, run, true));
        assertTrue(e.getMessage().contains("--max-len: checkpoint 128, now 120"), e.getMessage());
        // another initial model of the same architecture (other weights) is another run
        Path m1 = init(tmp.resolve("m1"), 2);
        e = assertThrows(IllegalArgumentException.class, () -> sft(cfg, data, m1, run, true));
        assertTrue(e.getMessage().contains("initial strong model"), e.getMessage());
        // the initial model's weights replaced in place (one bit in the middle: same header, size and ends)
        Path weights = m0.resolve("model.safetensors");
        byte[] w = Files.readAllBytes(weights), flipped = w.clone();
        flipped[w.length / 2] ^= 1;
        Files.write(weights, flipped);
        e = assertThrows(IllegalArgumentException.class, () -> sft(cfg, data, m0, run, true));
        assertTrue(e.getMessage().contains("initial strong model"), e.getMessage());
        Files.write(weights, w);
        // a new run does not silently overwrite one that holds a checkpoint
        e = assertThrows(IllegalArgumentException.class, () -> sft(cfg, data, m0, run, false));
        assertTrue(e.getMessage().contains("--resume"), e.getMessage());
    }

    @Test
    void aDamagedMetricsLineDoesNotBlockResume(@TempDir Path tmp) throws IOException {
        Path file = tmp.resolve("metrics.jsonl");
        Files.writeString(file, "{\"step\": 1, \"loss\": 2}\n{\"step\": 2, \"lo\n{\"loss\": 3}\n{\"step\": 3}\n");
        new JsonlMetrics(file).start("sft", 2, 10);
        assertEquals(List.of("{\"step\": 1, \"loss\": 2}"), Files.readAllLines(file), "kept up to step 2, damaged dropped");
    }

    @Test
    void accumulationNormalisesByTheWholeBatch(@TempDir Path tmp) throws IOException {
        // 2 micro-batches of 8 accumulated == one batch of 16: same first-step loss, near-identical updates
        Collator data = new Collator(ArithmeticTasks.generate(32, 1, 4), new ByteTokenizer(), 128);
        Path m0 = init(tmp.resolve("m0"), 3);
        TrainConfig big = TrainConfig.builder(TrainConfig.Mode.SFT).batchSize(16).lr(3e-3).warmupRatio(0).seed(2)
                .logEvery(1).checkpointEvery(0).build();
        TrainConfig acc = big.toBuilder().batchSize(8).accum(2).build();
        sft(big, data, m0, tmp.resolve("big"), false);
        sft(acc, data, m0, tmp.resolve("acc"), false);
        List<JsonObject> a = metrics(tmp.resolve("big")), b = metrics(tmp.resolve("acc"));
        assertEquals(2, a.size());
        assertEquals(2, b.size());
        for (int i = 0; i < 2; i++) {
            assertEquals(a.get(i).get("loss").getAsDouble(), b.get(i).get("loss").getAsDouble(), 2e-4, "step " + (i + 1));
            assertEquals(a.get(i).get("grad_norm").getAsDouble(), b.get(i).get("grad_norm").getAsDouble(), 2e-3);
        }
    }

    @Test
    void wmssRunsLogThePapersDiagnosticsAndCanFreezeTheWeakModel(@TempDir Path tmp) throws IOException {
        Collator data = new Collator(ArithmeticTasks.generate(40, 2, 5), new ByteTokenizer(), 160);
        Path weak = init(tmp.resolve("weak"), 1), strong = init(tmp.resolve("strong"), 2);
        TrainConfig cfg = TrainConfig.builder(TrainConfig.Mode.WDJT).batchSize(8).lr(3e-3).warmupRatio(0).lambda(0.5f)
                .freezeWeak(true).logEvery(1).checkpointEvery(2).build();
        TrainingRun.Result r = TrainingRun.builder(cfg).data(data, Sampler.all(40)).strong(strong).weak(weak)
                .out(tmp.resolve("run")).prepare().run();
        JsonObject last = metrics(tmp.resolve("run")).getLast();
        for (String k : new String[]{"entropy_strong", "entropy_weak", "entropy_mixed", "non_target_logit_strong",
                "grad_norm_strong_logits", "grad_norm", "lr", "tok_s"}) {
            assertTrue(last.has(k), "metrics lack " + k + ": " + last);
        }
        assertTrue(last.get("entropy_mixed").getAsDouble() > 0, last.toString());
        try (TorchModel before = TorchModel.load(weak); TorchModel after = TorchModel.load(r.weak())) {
            assertArrayEquals(before.parameter("model.norm.weight")[0].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT),
                    after.parameter("model.norm.weight")[0].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT), "frozen weak");
        }
        TrainConfig sftCfg = cfg.toBuilder().mode(TrainConfig.Mode.SFT).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> sft(sftCfg, data, strong,
                tmp.resolve("run"), true), "a WMSS checkpoint does not resume an SFT run");
        assertTrue(e.getMessage().contains("mode: checkpoint WDJT, now SFT") && e.getMessage().contains("--lambda")
                && e.getMessage().contains("--freeze-weak"), e.getMessage());
    }

    /**
     * The joint clip scales both models' gradients by clip / ‖(g_strong, g_weak)‖ (the per-model clip by each one's own
     * norm). Observed through AdamW's first step, -lr · g' / (|g'| + eps), with a clip so small that |g'| is near eps.
     */
    @Test
    void wdJtClipsTheJointGradientNormOfBothModels(@TempDir Path tmp) {
        Collator data = new Collator(ArithmeticTasks.generate(8, 2, 3), new ByteTokenizer(), 160);
        Path weak = init(tmp.resolve("weak"), 1), strong = init(tmp.resolve("strong"), 2);
        double lr = 1e-3, clip = 3e-6; // |clipped gradient| near AdamW's eps: the update depends on the clip
        for (boolean joint : new boolean[]{true, false}) {
            try (TorchModel s = TorchModel.load(strong); TorchModel w = TorchModel.load(weak);
                 java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                s.adamW(lr, TrainConfig.ADAM_BETA1, TrainConfig.ADAM_BETA2, TrainConfig.ADAM_EPS, 0);
                w.adamW(lr, TrainConfig.ADAM_BETA1, TrainConfig.ADAM_BETA2, TrainConfig.ADAM_EPS, 0);
                WdJtObjective jt = new WdJtObjective(s, w, 0.5f, false, Head.FUSED, joint);
                dev.wmss.train.data.Batch b = data.collate(new int[]{0, 1, 2, 3, 4, 5, 6, 7}, true);
                jt.microBatch(b, 1f / b.supervised(), arena, null);
                double ns = s.gradNorm(), nw = w.gradNorm();
                assertTrue(ns > 0 && nw > 0 && Math.abs(ns - nw) > 0.05 * ns, ns + " " + nw);
                String name = "model.norm.weight";
                float[][] before = new float[2][], grad = new float[2][];
                TorchModel[] models = {s, w};
                for (int m = 0; m < 2; m++) {
                    java.lang.foreign.MemorySegment[] p = models[m].parameter(name);
                    before[m] = p[0].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                    grad[m] = p[1].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                }
                Objective.GradNorms norms = jt.step(lr, clip);
                assertEquals(Math.hypot(ns, nw), norms.total(), 1e-9 * ns, "the joint norm before clipping");
                assertEquals(ns, norms.perModel().get("strong"), 1e-9 * ns, "the strong model's norm before clipping");
                assertEquals(nw, norms.perModel().get("weak"), 1e-9 * nw, "the weak model's norm before clipping");
                double jointCoef = clip / (Math.hypot(ns, nw) + 1e-6);
                double[][] coefs = {{jointCoef, jointCoef}, {clip / (ns + 1e-6), clip / (nw + 1e-6)}}; // joint, per model
                double[] want = coefs[joint ? 0 : 1], other = coefs[joint ? 1 : 0];
                for (int m = 0; m < 2; m++) {
                    float[] after = models[m].parameter(name)[0].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                    double worst = 0, worstOther = 0, moved = 0;
                    for (int i = 0; i < after.length; i++) {
                        double g = want[m] * grad[m][i], expect = -lr * g / (Math.abs(g) + TrainConfig.ADAM_EPS);
                        double go = other[m] * grad[m][i], expectOther = -lr * go / (Math.abs(go) + TrainConfig.ADAM_EPS);
                        worst = Math.max(worst, Math.abs((after[i] - before[m][i]) - expect));
                        worstOther = Math.max(worstOther, Math.abs((after[i] - before[m][i]) - expectOther));
                        moved = Math.max(moved, Math.abs(expect));
                    }
                    String what = (joint ? "joint" : "per-model") + " clip, model " + m;
                    assertTrue(moved > 1e-4, "the update is visible: " + moved);
                    assertTrue(worst < 2e-6, what + ": off by " + worst);
                    assertTrue(worstOther > 5e-6, what + ": the other clip's update would fit too (" + worstOther + ")");
                }
            }
        }
    }

    /**
     * A NaN in the weak model's gradients alone (the strong model's are finite): WD-JT's step refuses before either
     * model changes, naming the weak model (the strong model used to step first, unclipped, then the weak one
     * failed), whichever clip scope.
     */
    @Test
    void aNonFiniteWeakGradientStopsTheStepBeforeEitherModelChanges(@TempDir Path tmp) {
        Collator data = new Collator(ArithmeticTasks.generate(8, 2, 3), new ByteTokenizer(), 160);
        Path weak = init(tmp.resolve("weak"), 1), strong = init(tmp.resolve("strong"), 2);
        for (boolean joint : new boolean[]{true, false}) {
            try (TorchModel s = TorchModel.load(strong); TorchModel w = TorchModel.load(weak);
                 java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
                s.adamW(1e-3, TrainConfig.ADAM_BETA1, TrainConfig.ADAM_BETA2, TrainConfig.ADAM_EPS, 0);
                w.adamW(1e-3, TrainConfig.ADAM_BETA1, TrainConfig.ADAM_BETA2, TrainConfig.ADAM_EPS, 0);
                WdJtObjective jt = new WdJtObjective(s, w, 0.3f, false, Head.FUSED, joint);
                dev.wmss.train.data.Batch b = data.collate(new int[]{0, 1, 2, 3}, true);
                jt.microBatch(b, 1f / b.supervised(), arena, null);
                String name = "model.norm.weight";
                w.parameter(name)[1].setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT, 3, Float.NaN);
                float[] before = s.parameter(name)[0].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                float[] beforeWeak = w.parameter(name)[0].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT);
                var e = assertThrows(dev.wmss.kernels.error.NonFiniteException.class, () -> jt.step(1e-3, 1.0));
                assertTrue(e.getMessage().contains("weak model's gradient norm is NaN"), e.getMessage());
                assertArrayEquals(before, s.parameter(name)[0].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT),
                        "the strong model did not step (" + (joint ? "joint" : "per-model") + " clip)");
                assertArrayEquals(beforeWeak, w.parameter(name)[0].toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT));
            }
        }
    }

    @Test
    void mostExamplesWithoutAnAnswerTokenIsAnErrorNotZeroLossTraining(@TempDir Path tmp) {
        // prompts of 40 bytes and a window of 32: no example keeps an answer token
        List<Example> ex = java.util.stream.IntStream.range(0, 20)
                .mapToObj(i -> new Example("x".repeat(40) + i, "answer " + i)).toList();
        Collator data = new Collator(ex, new ByteTokenizer(), 32);
        Path m0 = init(tmp.resolve("m0"), 1);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> sft(sftConfig().build(), data, m0, tmp.resolve("run"), false));
        assertTrue(e.getMessage().contains("20 of 20 examples (100.0%)") && e.getMessage().contains("--max-len 52"),
                e.getMessage());
        assertFalse(Files.exists(tmp.resolve("run")), "nothing is written for a run that cannot start");
        // a few are tolerated, with a warning
        List<Example> mostlyFine = new java.util.ArrayList<>(ArithmeticTasks.generate(40, 1, 1));
        mostlyFine.add(new Example("y".repeat(200), "z"));
        assertNotNull(new Collator(mostlyFine, new ByteTokenizer(), 128).checkAnswersFit());
    }

    @Test
    void configurationsAreValidatedWithTheOptionNamed() {
        for (var c : new Object[][]{{TrainConfig.builder(TrainConfig.Mode.SFT).checkpointEvery(-1), "--checkpoint-every"},
                {TrainConfig.builder(TrainConfig.Mode.WDJT).lambda(1.5f), "--lambda"},
                {TrainConfig.builder(TrainConfig.Mode.SFT).batchSize(0), "--batch"},
                {TrainConfig.builder(TrainConfig.Mode.SFT).lr(Double.NaN), "--lr"},
                {TrainConfig.builder(TrainConfig.Mode.SFT).warmupRatio(2), "--warmup"},
                {TrainConfig.builder(TrainConfig.Mode.SFT).maxGradNorm(-1), "--clip"},
                {TrainConfig.builder(TrainConfig.Mode.SFT).weightDecay(-0.1), "--weight-decay"},
                {TrainConfig.builder(TrainConfig.Mode.SFT).logEvery(0), "--log-every"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, ((TrainConfig.Builder) c[0])::build);
            assertTrue(e.getMessage().startsWith((String) c[1]), e.getMessage());
        }
        for (var c : new Object[][]{{TrainConfig.builder(TrainConfig.Mode.SFT).adamBeta2(1), "--adam-beta2"},
                {TrainConfig.builder(TrainConfig.Mode.SFT).schedule(null), "--schedule"},
                {TrainConfig.builder(TrainConfig.Mode.WDJT).clipScope(null), "--clip-scope"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, ((TrainConfig.Builder) c[0])::build);
            assertTrue(e.getMessage().startsWith((String) c[1]), e.getMessage());
        }
        // defaults follow the authors' code
        TrainConfig jt = TrainConfig.builder(TrainConfig.Mode.WDJT).build(), sft = TrainConfig.builder(TrainConfig.Mode.SFT).build();
        assertEquals(0.999, jt.adamBeta2());
        assertEquals(0, jt.warmupRatio());
        assertEquals(TrainConfig.Schedule.LINEAR, jt.schedule());
        assertEquals(TrainConfig.ClipScope.JOINT, jt.clipScope());
        assertEquals(TrainConfig.LossTokens.ALL, jt.lossTokens(), "WD-JT trains on every token");
        assertEquals(TrainConfig.LossTokens.COMPLETION, sft.lossTokens(), "SFT on the response");
        assertEquals(TrainConfig.LossTokens.COMPLETION,
                sft.toBuilder().mode(TrainConfig.Mode.WDJT).lossTokens(TrainConfig.LossTokens.COMPLETION).build().lossTokens());
        assertEquals(0.5f, TrainConfig.builder(TrainConfig.Mode.WDJT).build().lambda());
        assertEquals(1f, TrainConfig.builder(TrainConfig.Mode.WDJT).build().toBuilder().mode(TrainConfig.Mode.SFT).build().lambda());
    }

    @Test
    void outputDirectoriesThatCannotBeWrittenSayWhy(@TempDir Path tmp) throws IOException {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OutputDir.requireWritable(file, "--out"));
        assertTrue(e.getMessage().contains("is a file"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> OutputDir.requireWritable(file.resolve("sub"), "--out"));
        assertTrue(e.getMessage().contains("Not a directory") || e.getMessage().contains("exists and is not a directory"),
                e.getMessage());
        Path ro = Files.createDirectories(tmp.resolve("ro"));
        assertTrue(ro.toFile().setWritable(false));
        try {
            if (Files.isWritable(ro)) return; // root ignores permissions: nothing to test
            e = assertThrows(IllegalArgumentException.class, () -> OutputDir.requireWritable(ro.resolve("run"), "--out"));
            assertTrue(e.getMessage().contains("ermission denied"), e.getMessage());
        } finally {
            ro.toFile().setWritable(true);
        }
    }
}
