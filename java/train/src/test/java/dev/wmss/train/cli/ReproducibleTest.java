package dev.wmss.train.cli;

import dev.wmss.kernels.Backend;
import dev.wmss.runtime.ReproducibleCpu;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The demo prints the same numbers on any x86-64 with AVX2 (an audit: another CPU with the same AVX-512 kernels printed
 * 25.5 / 30.0 / 9.0% against the README's 15.0 / 20.5 / 7.5%). What would differ between machines is imitated here by
 * what each machine would choose: the kernels' ISA (WMSS_CPU_ISA), OpenBLAS's kernels (OPENBLAS_CORETYPE), libtorch's
 * vector kernels (ATEN_CPU_CAPABILITY) and the thread count. With --reproducible (the default) every step's loss of
 * the quick demo is bit-identical whatever the machine would pick; with --no-reproducible they are not (so the test can
 * fail).
 */
class ReproducibleTest {
    static final List<Map<String, String>> MACHINES = List.of(
            Map.of(),
            Map.of("WMSS_CPU_ISA", "sse2", "OPENBLAS_CORETYPE", "Sandybridge", "ATEN_CPU_CAPABILITY", "default",
                    "OMP_NUM_THREADS", "1", "OPENBLAS_NUM_THREADS", "1"));

    /** Every loss of the quick demo's training stages, in order, as the metrics files hold them (bit for bit). */
    static List<String> losses(Path tmp, String name, Map<String, String> env, String... more) throws Exception {
        Path out = tmp.resolve(name);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-XX:TieredStopAtLevel=1",
                "-Dwmss.library.path=" + Backend.libraryDirectory(), "-cp", System.getProperty("java.class.path"),
                RankMain.class.getName(), "demo", "--quick", "--out", out.toString()));
        cmd.addAll(List.of(more));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        Process p = pb.start();
        String log = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(300, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), log);
        List<String> all = new ArrayList<>();
        for (String stage : List.of("base", "m1", "control", "wdjt")) {
            for (String l : Files.readAllLines(out.resolve(stage).resolve("metrics.jsonl"))) {
                var o = com.google.gson.JsonParser.parseString(l).getAsJsonObject();
                all.add(stage + " " + o.get("step") + " " + o.get("loss").getAsJsonPrimitive().getAsString() + " "
                        + o.get("grad_norm").getAsJsonPrimitive().getAsString());
            }
        }
        assertTrue(all.size() > 10, "the demo's steps: " + all);
        if (more.length == 0) assertTrue(log.contains("reproducible arithmetic: " + ReproducibleCpu.describe()), log);
        return all;
    }

    @Test
    void theQuickDemosLossesAreBitIdenticalWhateverTheMachineWouldPick(@TempDir Path tmp) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Backend.current().cpuIsa().startsWith("avx"), "no AVX2 here");
        List<String> a = losses(tmp, "a", MACHINES.get(0)), b = losses(tmp, "b", MACHINES.get(1));
        assertEquals(a, b, "with --reproducible (the default)");
        List<String> c = losses(tmp, "c", MACHINES.get(0), "--no-reproducible"), d = losses(tmp, "d", MACHINES.get(1), "--no-reproducible");
        assertNotEquals(c, d, "without it, what the machine picks changes the rounding (else this test proves nothing)");
    }
}
