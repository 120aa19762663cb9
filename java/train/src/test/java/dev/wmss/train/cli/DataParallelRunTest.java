package dev.wmss.train.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.kernels.Backend;
import dev.wmss.runtime.ProcessGroup;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Example;
import dev.wmss.train.loop.TrainerTest;
import dev.wmss.train.task.ArithmeticTasks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The training commands on 2 ranks (2 JVMs, Gloo on loopback, torchrun's variables) against one process with the
 * same global batch: same loss curve and final weights within fp32 tolerance (SFT with accumulation and a step
 * whose shard is empty on one rank; WD-JT with diagnostics), the same WD-DS entropies; resume of the 2-rank run on
 * 2 ranks (bit for bit) and on 1, and of the 1-process run in a new process (bit for bit); a killed rank makes the
 * other fail with an error. Every child is killed when its test ends or
 * times out.
 */
class DataParallelRunTest {
    static final long CHILD_LIMIT_S = 120;

    /** Starts 2 ranks of RankMain with the commands (separated by --then); output of rank r in dir/rank-r.log. */
    static List<Process> spawn(Path dir, Map<String, String> extraEnv, String... commands) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<Process> ranks = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
            List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                    "-XX:TieredStopAtLevel=1", "-Dwmss.library.path=" + Backend.libraryDirectory(),
                    "-cp", System.getProperty("java.class.path"), RankMain.class.getName()));
            cmd.addAll(List.of(commands));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            pb.redirectOutput(dir.resolve("rank-" + r + ".log").toFile());
            Map<String, String> env = pb.environment();
            env.put("RANK", String.valueOf(r));
            env.put("LOCAL_RANK", String.valueOf(r));
            env.put("WORLD_SIZE", "2");
            env.put("LOCAL_WORLD_SIZE", "2");
            env.put("MASTER_ADDR", "127.0.0.1");
            env.put("MASTER_PORT", String.valueOf(port));
            env.put("OMP_NUM_THREADS", "1");
            env.put(ProcessGroup.TIMEOUT_ENV, "60");
            env.putAll(extraEnv);
            ranks.add(pb.start());
        }
        return ranks;
    }

    /** One process of RankMain without a launcher's variables (output in dir/single.log). */
    static Process spawnSingle(Path dir, String... command) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                "-XX:TieredStopAtLevel=1", "-Dwmss.library.path=" + Backend.libraryDirectory(),
                "-cp", System.getProperty("java.class.path"), RankMain.class.getName()));
        cmd.addAll(List.of(command));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.redirectOutput(dir.resolve("single.log").toFile());
        for (String k : List.of("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")) {
            pb.environment().remove(k);
        }
        return pb.start();
    }

    static String logs(Path dir) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int r = 0; r < 2; r++) {
            Path f = dir.resolve("rank-" + r + ".log");
            b.append("--- rank ").append(r).append(":\n").append(Files.exists(f) ? Files.readString(f) : "(none)");
        }
        return b.toString();
    }

    /** Waits for both ranks (killing them past the limit) and requires exit code 0 from each. */
    static void awaitSuccess(List<Process> ranks, Path dir) throws Exception {
        try {
            for (Process p : ranks) {
                if (!p.waitFor(CHILD_LIMIT_S, TimeUnit.SECONDS)) fail("a rank did not finish in time\n" + logs(dir));
                assertEquals(0, p.exitValue(), logs(dir));
            }
        } finally {
            for (Process p : ranks) p.destroyForcibly().waitFor();
        }
    }

    static int runHere(String... args) {
        return Main.commandLine().execute(args);
    }

    static List<JsonObject> metrics(Path run) throws IOException {
        return Files.readAllLines(run.resolve("metrics.jsonl")).stream().map(l -> JsonParser.parseString(l).getAsJsonObject()).toList();
    }

    /** Parameter names from a model directory's safetensors header. */
    static List<String> names(Path model) throws IOException {
        byte[] all = Files.readAllBytes(model.resolve("model.safetensors"));
        int len = (int) ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        JsonObject header = JsonParser.parseString(new String(all, 8, len, StandardCharsets.UTF_8)).getAsJsonObject();
        return header.keySet().stream().filter(k -> !k.equals("__metadata__")).sorted().toList();
    }

    /** Largest |a − b| over every parameter of two models. */
    static double maxWeightDifference(Path a, Path b) throws IOException {
        double max = 0;
        try (TorchModel x = TorchModel.load(a); TorchModel y = TorchModel.load(b)) {
            for (String n : names(a)) {
                float[] p = x.parameter(n)[0].toArray(ValueLayout.JAVA_FLOAT), q = y.parameter(n)[0].toArray(ValueLayout.JAVA_FLOAT);
                for (int i = 0; i < p.length; i++) max = Math.max(max, Math.abs(p[i] - q[i]));
            }
        }
        return max;
    }

    /** The same steps with the same loss (relative tolerance) from step `from` (1-based) on. */
    static void sameCurve(List<JsonObject> want, List<JsonObject> got, int from, double tol, String what) {
        assertEquals(want.size(), got.size(), what + ": steps");
        for (int i = from - 1; i < want.size(); i++) {
            assertEquals(want.get(i).get("step").getAsLong(), got.get(i).get("step").getAsLong(), what);
            double a = want.get(i).get("loss").getAsDouble(), b = got.get(i).get("loss").getAsDouble();
            assertEquals(a, b, tol * Math.abs(a), what + ": loss at step " + (i + 1));
            a = want.get(i).get("grad_norm").getAsDouble();
            b = got.get(i).get("grad_norm").getAsDouble();
            assertEquals(a, b, 100 * tol * Math.abs(a), what + ": grad norm at step " + (i + 1));
        }
    }

    static Path data(Path dir, int n) throws IOException {
        List<String> lines = new ArrayList<>();
        for (Example e : ArithmeticTasks.generate(n, 1, 11)) {
            JsonObject o = new JsonObject();
            o.addProperty("prompt", e.prompt());
            o.addProperty("response", e.response());
            lines.add(o.toString());
        }
        return Files.write(dir.resolve("data.jsonl"), lines);
    }

    static String[] sft(Path model, Path data, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("sft", "--model", model.toString(), "--data", data.toString(), "--out",
                out.toString(), "--batch", "3", "--accum", "2", "--epochs", "2", "--lr", "3e-3", "--max-len", "96",
                "--log-every", "1", "--checkpoint-every", "3", "--seed", "5"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    static String[] wmss(Path weak, Path strong, Path data, Path out) {
        return new String[]{"wmss", "--weak", weak.toString(), "--strong", strong.toString(), "--data", data.toString(),
                "--out", out.toString(), "--batch", "4", "--lr", "3e-3", "--max-len", "96", "--log-every", "2",
                "--checkpoint-every", "0", "--seed", "5", "--selection", "code"};
    }

    static String[] entropy(Path model, Path data, Path out) {
        return new String[]{"entropy", "--model", model.toString(), "--data", data.toString(), "--out", out.toString(),
                "--max-len", "96"};
    }

    static String[] then(String[]... commands) {
        List<String> all = new ArrayList<>();
        for (String[] c : commands) {
            if (!all.isEmpty()) all.add("--then");
            all.addAll(List.of(c));
        }
        return all.toArray(String[]::new);
    }

    /**
     * 25 examples: SFT's global batch of 6 (3 × 2 accumulated; 3 per rank) leaves a last step of 1 example (rank 0's
     * shard is empty); WD-JT's batch of 4 (2 per rank) likewise. Tolerances are fp32's: the ranks pad and reduce
     * differently, nothing else differs.
     */
    @Test
    @Timeout(value = 300, unit = TimeUnit.SECONDS)
    void twoRanksTrainAsOneProcessAndResumeOnAnyNumberOfRanks(@TempDir Path tmp) throws Exception {
        Path m0 = TrainerTest.init(tmp.resolve("m0"), 1), m1 = TrainerTest.init(tmp.resolve("m1"), 2);
        Path data = data(tmp, 25);
        Path one = tmp.resolve("one"), two = tmp.resolve("two");
        Files.createDirectories(one);
        Files.createDirectories(two);

        List<Process> ranks = spawn(two, Map.of(), then(sft(m0, data, two.resolve("sft")),
                wmss(m0, m1, data, two.resolve("wmss")), entropy(m1, data, two.resolve("h1.jsonl"))));
        assertEquals(0, runHere(sft(m0, data, one.resolve("sft"))));
        assertEquals(0, runHere(wmss(m0, m1, data, one.resolve("wmss"))));
        assertEquals(0, runHere(entropy(m1, data, one.resolve("h1.jsonl"))));
        awaitSuccess(ranks, two);

        String log0 = Files.readString(two.resolve("rank-0.log")), log1 = Files.readString(two.resolve("rank-1.log"));
        assertTrue(log0.contains("data parallel: rank 0 of 2") && log0.contains("step 10/10"), log0);
        assertFalse(log1.contains("step 10/10"), "rank 1 reports nothing: " + log1);

        List<JsonObject> sft1 = metrics(one.resolve("sft")), sft2 = metrics(two.resolve("sft"));
        assertEquals(10, sft2.size(), "5 steps per epoch, one metrics line each (rank 0 only)");
        sameCurve(sft1, sft2, 1, 1e-5, "SFT");
        assertTrue(sft2.getFirst().has("comm_ms") && !sft1.getFirst().has("comm_ms"), sft2.getFirst().toString());
        double dSft = maxWeightDifference(one.resolve("sft/strong"), two.resolve("sft/strong"));
        assertTrue(dSft < 2e-5, "SFT final weights differ by " + dSft);

        List<JsonObject> jt1 = metrics(one.resolve("wmss")), jt2 = metrics(two.resolve("wmss"));
        assertEquals(7, jt2.size());
        sameCurve(jt1, jt2, 1, 1e-5, "WD-JT");
        // Without accumulation the diagnostics of one process (its one micro-batch) are those of the ranks' shards
        // together: means weighted by supervised tokens, the logits' gradient norm as a norm. At the last step (one
        // example) rank 0 has no data and rank 1's alone count.
        for (int i : new int[]{1, 3, 5, 6}) {
            for (String k : new String[]{"entropy_strong", "entropy_weak", "entropy_mixed", "non_target_logit_strong",
                    "grad_norm_strong_logits"}) {
                assertTrue(jt2.get(i).has(k), "global diagnostics " + jt2.get(i));
                double a = jt1.get(i).get(k).getAsDouble();
                assertEquals(a, jt2.get(i).get(k).getAsDouble(), 1e-4 * Math.abs(a) + 1e-6, k + " at step " + (i + 1));
            }
        }
        // WD-DS drew the same examples on 1 and 2 ranks, and the ranks' shards of each step are the 1-process step
        int[] draw = drawOf(one.resolve("wmss"));
        assertArrayEquals(draw, drawOf(two.resolve("wmss")), "the same draw on 1 and 2 ranks");
        dev.wmss.train.loop.TrainedExamples.assertTrainsOnItsDraw(one.resolve("wmss"), draw);
        dev.wmss.train.loop.TrainedExamples.assertTrainsOnItsDraw(two.resolve("wmss"), draw);
        List<int[]> steps1 = dev.wmss.train.loop.TrainedExamples.steps(one.resolve("wmss"));
        List<int[]> steps2 = dev.wmss.train.loop.TrainedExamples.steps(two.resolve("wmss"));
        assertEquals(steps1.size(), steps2.size());
        for (int i = 0; i < steps1.size(); i++) assertArrayEquals(steps1.get(i), steps2.get(i), "step " + (i + 1));
        double[] dJt = new double[2];
        for (int k = 0; k < 2; k++) {
            String model = k == 0 ? "strong" : "weak";
            dJt[k] = maxWeightDifference(one.resolve("wmss").resolve(model), two.resolve("wmss").resolve(model));
            assertTrue(dJt[k] < 2e-5, "WD-JT final " + model + " weights differ by " + dJt[k]);
        }

        List<String> h1 = Files.readAllLines(one.resolve("h1.jsonl")), h2 = Files.readAllLines(two.resolve("h1.jsonl"));
        assertEquals(25, h2.size());
        for (int i = 0; i < 25; i++) {
            JsonObject a = JsonParser.parseString(h1.get(i)).getAsJsonObject(), b = JsonParser.parseString(h2.get(i)).getAsJsonObject();
            assertEquals(i, b.get("index").getAsInt());
            assertEquals(a.get("entropy").getAsDouble(), b.get("entropy").getAsDouble(), 1e-5, "entropy of example " + i);
        }

        // Resume the 2-rank SFT run from its checkpoint of step 9 (as if stopped there) on 2 ranks and on 1.
        Path saved = two.resolve("sft/checkpoints/step-00000009");
        assertTrue(Files.exists(saved.resolve("state.json")), "the 2-rank run's checkpoint");
        Path again = tmp.resolve("again");
        Files.createDirectories(again);
        for (Path dir : new Path[]{again.resolve("sft2"), again.resolve("sft1")}) {
            copyTree(saved, dir.resolve("checkpoints/step-00000009"));
            Files.write(dir.resolve("metrics.jsonl"), Files.readAllLines(two.resolve("sft/metrics.jsonl")).subList(0, 9));
        }
        // and the 1-process run from its own checkpoint of step 9, in a new process
        Path saved1 = one.resolve("sft/checkpoints/step-00000009");
        copyTree(saved1, again.resolve("one/checkpoints/step-00000009"));
        Files.write(again.resolve("one/metrics.jsonl"), Files.readAllLines(one.resolve("sft/metrics.jsonl")).subList(0, 9));
        ranks = spawn(again, Map.of(), sft(m0, data, again.resolve("sft2"), "--resume"));
        assertEquals(0, runHere(sft(m0, data, again.resolve("sft1"), "--resume")));
        awaitSuccess(ranks, again);
        Process single = spawnSingle(again, sft(m0, data, again.resolve("one"), "--resume"));
        awaitSuccess(List.of(single), again);
        // a run resumed on the ranks it was made with is the uninterrupted run, bit for bit
        TrainerTest.sameSteps(sft2, metrics(again.resolve("sft2")), 10, "resumed on 2 ranks");
        TrainerTest.assertSameBytes(two.resolve("sft/strong"), again.resolve("sft2/strong"), "resumed on 2 ranks");
        TrainerTest.sameSteps(sft1, metrics(again.resolve("one")), 10, "resumed on 1 rank in a new process");
        TrainerTest.assertSameBytes(one.resolve("sft/strong"), again.resolve("one/strong"), "resumed on 1 rank in a new process");
        sameCurve(sft2, metrics(again.resolve("sft1")), 10, 1e-5, "2-rank checkpoint resumed on 1 rank");
        double d1 = maxWeightDifference(two.resolve("sft/strong"), again.resolve("sft1/strong"));
        System.out.printf("largest weight differences, 2 ranks vs 1: SFT %.2e, WD-JT strong %.2e weak %.2e; 2-rank SFT"
                + " resumed on 1 rank %.2e%n", dSft, dJt[0], dJt[1], d1);
        assertTrue(d1 < 2e-5, "resumed on 1 rank: final weights differ by " + d1);
    }

    static int[] drawOf(Path run) throws IOException {
        JsonObject o = JsonParser.parseString(Files.readString(run.resolve("active.json"))).getAsJsonObject();
        return new com.google.gson.Gson().fromJson(o.get("indices"), int[].class);
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

    /** A rank killed mid-run (SIGKILL: no goodbye) makes the other fail at its next collective, with the reason. */
    @Test
    @Timeout(value = 180, unit = TimeUnit.SECONDS)
    void killingOneRankEndsTheJobWithAnError(@TempDir Path tmp) throws Exception {
        Path m0 = TrainerTest.init(tmp.resolve("m0"), 1), data = data(tmp, 25), out = tmp.resolve("run");
        List<Process> ranks = spawn(tmp, Map.of(), "sft", "--model", m0.toString(), "--data", data.toString(), "--out",
                out.toString(), "--batch", "3", "--epochs", "100000", "--max-len", "96", "--log-every", "1",
                "--checkpoint-every", "0");
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (!(Files.exists(out.resolve("metrics.jsonl")) && Files.readAllLines(out.resolve("metrics.jsonl")).size() >= 3)) {
                assertTrue(System.nanoTime() < deadline && ranks.get(0).isAlive(), "training never started\n" + logs(tmp));
                Thread.sleep(100);
            }
            ranks.get(1).destroyForcibly().waitFor();
            long t0 = System.nanoTime();
            assertTrue(ranks.get(0).waitFor(60, TimeUnit.SECONDS), "rank 0 is left hanging\n" + logs(tmp));
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertEquals(1, ranks.get(0).exitValue(), logs(tmp));
            String log = Files.readString(tmp.resolve("rank-0.log"));
            assertTrue(log.contains("error: ") && log.contains("another rank exited"), log);
            assertTrue(seconds < 30, "a closed connection is seen long before the 60 s timeout: " + seconds + " s");
        } finally {
            for (Process p : ranks) p.destroyForcibly().waitFor();
        }
    }
}
