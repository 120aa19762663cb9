package dev.wmss.train.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * `plan`'s options are checked as the training commands check theirs, and a config it cannot plan from exactly is
 * refused, naming the field and the file (an audit's cases: a config without num_hidden_layers planned as "-1 layers",
 * --weak none documented but read as a path, --capacity-gib 0 or NaN taken as "no capacity" or printed, the wrong
 * option named for --ranks-per-node 0, --head-chunk-mb 0 accepted, a memory limit of 0 read as none).
 */
class PlanCommandTest {
    static CliRun refused(String... args) {
        CliRun r = CliRun.of(args);
        assertEquals(1, r.code(), String.join(" ", args) + "\n" + r.out() + r.err());
        return r;
    }

    @Test
    void aConfigWithoutAFieldThePlanUsesIsRefusedNamingFieldAndFile(@TempDir Path tmp) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("m"));
        Files.writeString(dir.resolve("config.json"), dev.wmss.train.plan.Presets.CONFIGS.get("qwen3-8b")
                .replace("\"num_hidden_layers\": 36,", "").replace("{", "{\"vocab_size\": 151936, "));
        CliRun r = refused("plan", "--strong", dir.toString(), "--max-len", "4096", "--batch", "1", "--capacity-gib", "80");
        assertTrue(r.err().contains(dir.resolve("config.json") + ": missing \"num_hidden_layers\""), r.err());
        assertFalse(r.out().contains("fits"), r.out());
    }

    @Test
    void weakNoneIsAnSftPlanAsDocumented() {
        CliRun sft = CliRun.of("plan", "--strong", "qwen3-tiny", "--capacity-gib", "8");
        for (String none : List.of("none", "NONE")) {
            CliRun r = CliRun.of("plan", "--strong", "qwen3-tiny", "--weak", none, "--capacity-gib", "8");
            assertEquals(0, r.code(), r.err());
            assertEquals(sft.out(), r.out(), "the same plan as without --weak");
            assertFalse(r.out().contains("weak:"), r.out());
        }
        assertTrue(CliRun.of("plan", "--strong", "qwen3-tiny", "--weak", "qwen3-tiny", "--capacity-gib", "8").out()
                .contains("weak:"), "a weak model is planned");
    }

    @Test
    void capacityMustBePositiveAndFinite() {
        for (String bad : List.of("0", "-3", "NaN", "Infinity", "-0")) {
            CliRun r = refused("plan", "--strong", "qwen3-tiny", "--capacity-gib", bad);
            assertTrue(r.err().contains("--capacity-gib must be > 0 and finite, got " + bad), r.err());
        }
    }

    @Test
    void ranksPerNodeIsBetweenOneAndTheWorldSize() {
        for (String[] bad : new String[][]{{"0", "2"}, {"-1", "2"}, {"3", "2"}}) {
            CliRun r = refused("plan", "--strong", "qwen3-tiny", "--ranks-per-node", bad[0], "--world-size", bad[1]);
            assertTrue(r.err().contains("--ranks-per-node must be between 1 and --world-size (" + bad[1] + "), got " + bad[0]),
                    r.err());
        }
        CliRun w = refused("plan", "--strong", "qwen3-tiny", "--world-size", "0");
        assertTrue(w.err().contains("--world-size must be >= 1, got 0"), w.err());
        assertEquals(0, CliRun.of("plan", "--strong", "qwen3-tiny", "--ranks-per-node", "2", "--world-size", "4",
                "--capacity-gib", "8").code());
    }

    @Test
    void headChunkIsCheckedAsTrainingChecksIt() {
        for (String bad : List.of("0", "-5", String.valueOf(Long.MAX_VALUE))) {
            CliRun r = refused("plan", "--strong", "qwen3-tiny", "--head-chunk-mb", bad);
            assertTrue(r.err().contains("--head-chunk-mb must be >= 1, got " + bad), r.err());
        }
    }

    @Test
    void aMemoryLimitOfNoneOrLessIsRefusedNotReadAsNoLimit() {
        assertEquals(-1, dev.wmss.train.loop.MemoryBudget.limitBytes(), "no limit set");
        try {
            for (String bad : List.of("0", "-1", "NaN", "Infinity", "lots")) {
                System.setProperty("wmss.memory.limit.gib", bad);
                CliRun r = refused("plan", "--strong", "qwen3-tiny");
                assertTrue(r.err().contains("-Dwmss.memory.limit.gib must be a number of GiB > 0")
                        && r.err().contains("got " + bad), r.err());
            }
            System.setProperty("wmss.memory.limit.gib", "0.5");
            CliRun r = CliRun.of("plan", "--strong", "qwen3-tiny");
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().contains("fits: needs") && r.out().contains("0.50 GiB available"), "plan honours the limit: " + r.out());
        } finally {
            System.clearProperty("wmss.memory.limit.gib");
        }
    }
}
