package dev.wmss.kernels;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The README's Java example is a program that compiles and runs as written (an audit: it lacked imports and
 * allocation, and took the entropy after the in-place call had overwritten the logits): the code block after the
 * README-EXAMPLE marker is compiled against this module and run in a JVM of its own, and what it prints is checked
 * against the float64 reference.
 */
class ReadmeExampleTest {
    static Path readme() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !Files.exists(p.resolve("wmss.sh"))) p = p.getParent();
        return p == null ? null : p.resolve("README.md");
    }

    @Test
    void theReadmesJavaExampleCompilesAndRuns(@TempDir Path tmp) throws Exception {
        Path readme = readme();
        assumeTrue(readme != null && Files.isRegularFile(readme), "no README beside the build");
        Matcher m = Pattern.compile("<!-- README-EXAMPLE (\\w+)\\.java -->\\n```java\\n(.*?)```", Pattern.DOTALL)
                .matcher(Files.readString(readme));
        assertTrue(m.find(), "the README's example and its marker");
        String name = m.group(1);
        Path src = Files.writeString(tmp.resolve(name + ".java"), m.group(2));
        Process javac = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "javac").toString(), "-d",
                tmp.toString(), "-cp", System.getProperty("java.class.path"), src.toString()).redirectErrorStream(true).start();
        String said = new String(javac.getInputStream().readAllBytes());
        assertTrue(javac.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, javac.exitValue(), "javac: " + said);
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Dwmss.cache.dir=" + System.getProperty("wmss.cache.dir"),
                "-cp", tmp + java.io.File.pathSeparator + System.getProperty("java.class.path"), name)
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        Matcher printed = Pattern.compile("loss ([0-9.]+); row 0: entropy ([0-9.]+), NLL ([0-9.]+); d loss / d z_strong\\[0\\]\\[7\\] = (-?[0-9.]+)")
                .matcher(out);
        assertTrue(printed.find(), out);
        // the same problem through the float64 reference: rows of sin/cos, labels 7, 42, ignored, 999
        double[][] zs = new double[4][1000], zw = new double[4][1000];
        for (int r = 0; r < 4; r++) {
            for (int v = 0; v < 1000; v++) {
                zs[r][v] = Bf16.round((float) Math.sin(r + 0.01 * v));
                zw[r][v] = Bf16.round((float) Math.cos(r - 0.02 * v));
            }
        }
        long[] y = {7, 42, -100, 999};
        double loss = 0, h0 = 0, nll0 = 0, g07 = 0;
        for (int r = 0; r < 4; r++) {
            double[] mix = new double[1000], one = zs[r];
            double max = Double.NEGATIVE_INFINITY, m1 = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < 1000; v++) {
                mix[v] = 0.5 * zs[r][v] + 0.5 * zw[r][v];
                max = Math.max(max, mix[v]);
                m1 = Math.max(m1, one[v]);
            }
            double s = 0, s1 = 0;
            for (int v = 0; v < 1000; v++) {
                s += Math.exp(mix[v] - max);
                s1 += Math.exp(one[v] - m1);
            }
            if (r == 0) {
                double lse1 = m1 + Math.log(s1);
                for (int v = 0; v < 1000; v++) h0 -= Math.exp(one[v] - lse1) * (one[v] - lse1);
                nll0 = lse1 - one[7];
                g07 = 0.5 * (Math.exp(mix[7] - max - Math.log(s)) - 1) / 3;
            }
            if (y[r] >= 0) loss += (max + Math.log(s) - mix[(int) y[r]]) / 3;
        }
        assertEquals(loss, Double.parseDouble(printed.group(1)), 1e-3, out);
        assertEquals(h0, Double.parseDouble(printed.group(2)), 1e-3, "the entropy of the logits before the in-place call");
        assertEquals(nll0, Double.parseDouble(printed.group(3)), 1e-3);
        assertEquals(g07, Double.parseDouble(printed.group(4)), 4e-3 * Math.abs(g07), "a bf16 gradient: within its rounding");
        assertFalse(List.of(out.split("\n")).stream().anyMatch(l -> l.startsWith("WARNING") && l.contains("native")), out);
        assertFalse(out.contains("INFO") || out.contains("backend cpu"), "a library is quiet by default: " + out);
    }
}
