package dev.wmss.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/** `experiment --quick`: the gates stop it before the arms; --force runs every arm; --resume reads the stages back. */
class ExperimentCommandTest {
    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void gatesThenEveryArmThenResume(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("x");
        // the quick sizes cannot make a saturated M1: the gates fail, and the arms do not run
        CliRun gated = run("experiment", "--quick", "--out", dir.toString());
        assertEquals(3, gated.code(), gated.err());
        String report = Files.readString(dir.resolve("report.md"));
        assertTrue(report.contains("A gate failed: the arms were not run") && report.contains("failed: "), report);
        assertFalse(Files.exists(dir.resolve("seed-1/control")), "no arm ran");
        assertEquals(1 + 2 * 2, Files.readAllLines(dir.resolve("results.csv")).size(), "M0 and M1 of 2 seeds");

        CliRun again = run("experiment", "--quick", "--out", dir.toString());
        assertEquals(1, again.code());
        assertTrue(again.err().contains("holds an experiment: --resume continues it"), again.err());
        CliRun other = run("experiment", "--quick", "--seeds", "3", "--resume", "--out", dir.toString());
        assertEquals(1, other.code());
        assertTrue(other.err().contains("other settings") && other.err().contains("--seeds: experiment 2, now 3")
                && !other.err().contains("ExperimentSpec["), "the field and both values: " + other.err());

        CliRun forced = run("experiment", "--quick", "--resume", "--force", "--out", dir.toString());
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
        CliRun resumed = run("experiment", "--quick", "--resume", "--force", "--out", dir.toString());
        assertEquals(0, resumed.code(), resumed.err());
        assertEquals(csv, Files.readAllLines(dir.resolve("results.csv")), "every stage read back, nothing re-run");
        assertTrue(System.nanoTime() - t0 < 8_000_000_000L, "a finished experiment resumes without training");
    }

    @Test
    void resumingWhereThereIsNoExperimentSaysSo(@TempDir Path tmp) throws Exception {
        for (Path dir : new Path[]{Files.createDirectories(tmp.resolve("empty")), tmp.resolve("absent")}) {
            CliRun r = run("experiment", "--quick", "--resume", "--out", dir.toString());
            assertEquals(1, r.code(), r.err());
            assertTrue(r.err().contains("nothing to resume in " + dir), r.err());
            assertFalse(Files.exists(dir.resolve("experiment.json")), "nothing started");
        }
    }

    @Test
    void badOptionsStopBeforeAnyWork(@TempDir Path tmp) {
        CliRun seeds = run("experiment", "--quick", "--seeds", "0", "--out", tmp.resolve("x").toString());
        assertEquals(1, seeds.code());
        assertTrue(seeds.err().contains("--seeds must be >= 1"), seeds.err());
        assertFalse(Files.exists(tmp.resolve("x")));
    }
}
