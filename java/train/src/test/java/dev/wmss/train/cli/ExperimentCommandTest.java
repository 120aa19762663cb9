package dev.wmss.train.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * `experiment --quick`: a smoke test that runs every stage to the end and checks that every trained model learned
 * (which can fail); the full sizes' gates stop the arms unless --force; --resume reads the stages back.
 */
class ExperimentCommandTest {
    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @Test
    void quickRunsToTheEndThenResumesWithTheSameSettingsOnly(@TempDir Path tmp) throws Exception {
        Path dir = tmp.resolve("x");
        // the quick sizes cannot pass the gates: they are reported, not enforced, and the smoke check decides
        CliRun quick = run("experiment", "--quick", "--out", dir.toString());
        assertEquals(0, quick.code(), quick.err());
        assertTrue(quick.out().contains("smoke check passed"), quick.out());
        String report = Files.readString(dir.resolve("report.md"));
        assertTrue(report.contains("A smoke run (--quick)") && report.contains("Smoke check: every trained model's held-out"
                + " token loss is below M0's: passed"), report);
        assertTrue(report.contains("failed: "), "the gates are reported: " + report);
        assertFalse(report.contains("Metric check: teacher-forced exact match agrees with greedy decoding's answer match on"
                + " 100.0% of 16 test problems (seed 1's M1; 0 vs 0 right; needed: ≥ 98% and some problem right, else it"
                + " proves nothing): passed"), "0 vs 0 right proves nothing: " + report);
        List<String> csv = Files.readAllLines(dir.resolve("results.csv"));
        assertEquals(1 + 2 * 2 + 2 * 8, csv.size(), String.join("\n", csv)); // 7 arms + 1 extra lambda per seed
        for (String arm : new String[]{"control", "sft-1+1", "wmss", "selection-only", "joint-only", "temperature",
                "frozen-weak", "joint-lambda-0.30"}) {
            assertTrue(csv.stream().anyMatch(l -> l.startsWith("2," + arm + ",")), arm + " missing:\n" + csv);
        }
        List<String> diff = Files.readAllLines(dir.resolve("differences.csv"));
        assertEquals("wmss,control", diff.get(1).substring(0, diff.get(1).indexOf(',', 5)), diff.get(1));
        assertEquals("joint-only,temperature", diff.get(2).substring(0, "joint-only,temperature".length()));
        assertTrue(report.contains("Verdict: the claim is"), report);
        for (String png : new String[]{"accuracy.png", "loss.png", "gradnorm.png"}) {
            assertTrue(Files.size(dir.resolve("plots").resolve(png)) > 5000, png);
            assertTrue(report.contains("plots/" + png), png);
        }
        // the arms with WD-DS train on the seed's draw (with its repeats), the others on every example once
        for (int seed = 1; seed <= 2; seed++) {
            com.google.gson.JsonObject regime = com.google.gson.JsonParser.parseString(Files.readString(
                    dir.resolve("seed-" + seed + "/regime/result.json"))).getAsJsonObject();
            int[] draw = new com.google.gson.Gson().fromJson(regime.getAsJsonObject("value").get("draw"), int[].class);
            for (String arm : new String[]{"wmss", "selection-only"}) {
                dev.wmss.train.loop.TrainedExamples.assertTrainsOnItsDraw(dir.resolve("seed-" + seed + "/" + arm), draw);
            }
            List<int[]> jointOnly = dev.wmss.train.loop.TrainedExamples.steps(dir.resolve("seed-" + seed + "/joint-only"));
            int[] all = jointOnly.stream().flatMapToInt(java.util.Arrays::stream).sorted().toArray();
            for (int i = 0; i < all.length; i++) assertEquals(i, all[i], "joint-only trains on every example once");
        }
        // the SFT stages log the gradient norm on the logits too (the saturation plot)
        assertTrue(Files.readString(dir.resolve("seed-1/m1/metrics.jsonl")).contains("grad_norm_strong_logits"));

        CliRun again = run("experiment", "--quick", "--out", dir.toString());
        assertEquals(1, again.code());
        assertTrue(again.err().contains("holds an experiment: --resume continues it"), again.err());
        CliRun other = run("experiment", "--quick", "--seeds", "3", "--resume", "--out", dir.toString());
        assertEquals(1, other.code());
        assertTrue(other.err().contains("other settings") && other.err().contains("--seeds: experiment 2, now 3")
                && !other.err().contains("ExperimentSpec["), "the field and both values: " + other.err());

        long t0 = System.nanoTime();
        CliRun resumed = run("experiment", "--quick", "--resume", "--out", dir.toString());
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
        CliRun oldSpelling = run("experiment", "--quick", "--train", "50", "--out", tmp.resolve("x").toString());
        assertEquals(1, oldSpelling.code());
        assertTrue(oldSpelling.err().contains("--train is now --train-size"), oldSpelling.err());
        assertFalse(Files.exists(tmp.resolve("x")));
    }
}
