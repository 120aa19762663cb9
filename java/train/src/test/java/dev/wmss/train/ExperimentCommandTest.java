package dev.wmss.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** `experiment --quick`: the gates stop it before the arms; --force runs every arm; --resume reads the stages back. */
class ExperimentCommandTest {
    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true));
        try {
            return new Run(cl.execute(args), out.toString(), err.toString());
        } finally {
            System.setOut(old);
        }
    }

    @Test
    void gatesThenEveryArmThenResume(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("x");
        // the quick sizes cannot make a saturated M1: the gates fail, and the arms do not run
        Run gated = run("experiment", "--quick", "--out", dir.toString());
        assertEquals(3, gated.code(), gated.err());
        String report = Files.readString(dir.resolve("report.md"));
        assertTrue(report.contains("A gate failed: the arms were not run") && report.contains("failed: "), report);
        assertFalse(Files.exists(dir.resolve("seed-1/control")), "no arm ran");
        assertEquals(1 + 2 * 2, Files.readAllLines(dir.resolve("results.csv")).size(), "M0 and M1 of 2 seeds");

        Run again = run("experiment", "--quick", "--out", dir.toString());
        assertEquals(1, again.code());
        assertTrue(again.err().contains("holds an experiment: --resume continues it"), again.err());
        Run other = run("experiment", "--quick", "--seeds", "3", "--resume", "--out", dir.toString());
        assertEquals(1, other.code());
        assertTrue(other.err().contains("other settings") && other.err().contains("seeds=3"), other.err());

        Run forced = run("experiment", "--quick", "--resume", "--force", "--out", dir.toString());
        assertEquals(0, forced.code(), forced.err());
        List<String> csv = Files.readAllLines(dir.resolve("results.csv"));
        assertEquals(1 + 2 * 2 + 2 * 8, csv.size(), String.join("\n", csv)); // 7 arms + 1 extra lambda per seed
        for (String arm : new String[]{"control", "sft-1+1", "wmss", "selection-only", "joint-only", "temperature",
                "frozen-weak", "joint-lambda-0.30"}) {
            assertTrue(csv.stream().anyMatch(l -> l.startsWith("2," + arm + ",")), arm + " missing:\n" + csv);
        }
        List<String> diff = Files.readAllLines(dir.resolve("differences.csv"));
        assertEquals("wmss,control", diff.get(1).substring(0, diff.get(1).indexOf(',', 5)), diff.get(1));
        assertEquals("joint-only,temperature", diff.get(2).substring(0, "joint-only,temperature".length()));
        report = Files.readString(dir.resolve("report.md"));
        assertTrue(report.contains("the arms were run anyway (--force)") && report.contains("Verdict: the claim is not reproduced"), report);
        for (String png : new String[]{"accuracy.png", "loss.png", "gradnorm.png"}) {
            assertTrue(Files.size(dir.resolve("plots").resolve(png)) > 5000, png);
            assertTrue(report.contains("plots/" + png), png);
        }
        // the SFT stages log the gradient norm on the logits too (the saturation plot)
        assertTrue(Files.readString(dir.resolve("seed-1/m1/metrics.jsonl")).contains("grad_norm_strong_logits"));

        long t0 = System.nanoTime();
        Run resumed = run("experiment", "--quick", "--resume", "--force", "--out", dir.toString());
        assertEquals(0, resumed.code(), resumed.err());
        assertEquals(csv, Files.readAllLines(dir.resolve("results.csv")), "every stage read back, nothing re-run");
        assertTrue(System.nanoTime() - t0 < 8_000_000_000L, "a finished experiment resumes without training");
    }

    @Test
    void badOptionsStopBeforeAnyWork(@TempDir Path tmp) {
        Run seeds = run("experiment", "--quick", "--seeds", "0", "--out", tmp.resolve("x").toString());
        assertEquals(1, seeds.code());
        assertTrue(seeds.err().contains("--seeds must be >= 1"), seeds.err());
        assertFalse(Files.exists(tmp.resolve("x")));
    }
}
