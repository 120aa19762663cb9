package dev.wmss.train.loop;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Crash safety of checkpoint replacement: a crash (here an exception thrown by the fault hook) at every point of a
 * save, and two crashes in a row at every pair of points, must leave the newest complete checkpoint readable, and
 * resume must pick it.
 */
class CheckpointerTest {
    static final List<String> POINTS = List.of("writing contents", "contents written", "state written",
            "renamed into place", "old set aside", "old deleted");
    static final RunIdentity ID = RunIdentity.of(TrainConfig.builder(TrainConfig.Mode.SFT).build(), "fp", 10, 64,
            Sampler.all(10), "m0", "none");

    static final class Crash extends IOException {
        Crash(String point) {
            super("crash at " + point);
        }
    }

    /** A save of step whose model file holds "weights of step N"; crashes at point (null: none). */
    static void save(Path out, long step, String point) {
        Checkpointer c = new Checkpointer(out, p -> {
            if (p.equals(point)) throw new Crash(p);
        });
        try {
            c.save(step, ID, dir -> {
                Files.createDirectories(dir.resolve("strong"));
                Files.writeString(dir.resolve("strong/model.safetensors"), "weights of step " + step);
                if ("writing contents".equals(point)) throw new Crash(point); // half a checkpoint on disk
            });
        } catch (java.io.UncheckedIOException e) {
            if (!(e.getCause() instanceof Crash)) throw e;
        }
    }

    static void assertResumesFromACompleteCheckpoint(Path out, long atLeast, String what) throws IOException {
        Checkpointer.Saved s = new Checkpointer(out).latest().orElseThrow(() -> new AssertionError("no checkpoint after " + what));
        assertTrue(s.step() >= atLeast, "step " + s.step() + " after " + what);
        assertEquals("weights of step " + s.step(), Files.readString(s.dir().resolve("strong/model.safetensors")), what);
        assertEquals(ID, s.identity());
    }

    @Test
    void aCrashAtAnyPointLeavesTheNewestCompleteCheckpoint(@TempDir Path tmp) throws IOException {
        for (String point : POINTS) {
            Path out = tmp.resolve(point.replace(' ', '-'));
            save(out, 10, null);
            save(out, 20, point);
            // the new one once it was renamed into place, else the old one
            long expected = POINTS.indexOf(point) >= POINTS.indexOf("renamed into place") ? 20 : 10;
            Checkpointer.Saved s = new Checkpointer(out).latest().orElseThrow();
            assertEquals(expected, s.step(), "crash at " + point);
            assertResumesFromACompleteCheckpoint(out, expected, "a crash at " + point);
            // the next save cleans up whatever the crash left
            save(out, 30, null);
            assertResumesFromACompleteCheckpoint(out, 30, "a save after a crash at " + point);
            try (Stream<Path> s2 = Files.list(out.resolve("checkpoints"))) { // the newest two (the default keep)
                assertEquals(List.of(String.format("step-%08d", expected), "step-00000030"),
                        s2.map(p -> p.getFileName().toString()).sorted().toList(), point);
            }
        }
    }

    @Test
    void twoCrashesInARowStillLeaveACheckpoint(@TempDir Path tmp) throws IOException {
        int n = 0;
        for (String first : POINTS) {
            for (String second : POINTS) {
                Path out = tmp.resolve("run-" + n++);
                save(out, 10, null);
                save(out, 20, first);
                save(out, 30, second);
                assertResumesFromACompleteCheckpoint(out, 10, "crashes at " + first + ", then " + second);
            }
        }
    }

    @Test
    void noCheckpointAndUnreadableOnesAreSkipped(@TempDir Path tmp) throws IOException {
        assertTrue(new Checkpointer(tmp).latest().isEmpty());
        save(tmp, 10, null);
        Path broken = Files.createDirectories(tmp.resolve("checkpoints/step-00000099"));
        Files.writeString(broken.resolve("state.json"), "{not json");
        assertEquals(10, new Checkpointer(tmp).latest().orElseThrow().step(), "a damaged newer directory is skipped");
        Files.createDirectories(tmp.resolve("checkpoints/step-00000200.partial"));
        assertEquals(10, new Checkpointer(tmp).latest().orElseThrow().step(), "a partial one is never read");
    }

    @Test
    void theFlatIdentityOfEarlierVersionsIsReadAsThisOne() {
        TrainConfig cfg = TrainConfig.builder(TrainConfig.Mode.WDJT).lr(3e-3).lambda(0.4f).build();
        RunIdentity now = RunIdentity.of(cfg, "fp", 10, 64, Sampler.all(10), "m1", "m0");
        // the state.json identity as the versions before the configuration was nested wrote it (mode WMSS for WD-JT)
        com.google.gson.JsonObject flat = new com.google.gson.Gson().toJsonTree(cfg).getAsJsonObject();
        flat.remove("logEvery");
        flat.remove("checkpointEvery");
        flat.addProperty("mode", "WMSS");
        flat.addProperty("dataFingerprint", "fp");
        flat.addProperty("examples", 10);
        flat.addProperty("maxLen", 64);
        flat.addProperty("activeFingerprint", RunIdentity.sha256(Sampler.all(10)));
        flat.addProperty("active", 10);
        flat.addProperty("strongModel", "m1");
        flat.addProperty("weakModel", "m0");
        RunIdentity old = RunIdentity.fromJson(flat);
        assertEquals(List.of(), now.differencesFrom(old), "the same run");
        assertEquals(List.of("--lr: checkpoint 0.003, now 0.002"),
                RunIdentity.of(cfg.toBuilder().lr(2e-3).build(), "fp", 10, 64, Sampler.all(10), "m1", "m0").differencesFrom(old));
    }
}
