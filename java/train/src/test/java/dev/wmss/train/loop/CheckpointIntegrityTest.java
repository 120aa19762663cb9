package dev.wmss.train.loop;

import dev.wmss.train.data.ByteTokenizer;
import dev.wmss.train.data.Collator;
import dev.wmss.train.task.ArithmeticTasks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What a resume relies on is verified before it is used (an audit: 64 flipped bytes in a checkpoint's weights were
 * resumed without a word, training on with a weight of 1.2e24). Every file of a checkpoint is listed with its size and
 * CRC-32C in its state.json, which carries its own CRC-32C; a resume takes the newest checkpoint that verifies, says
 * which file of a newer one is damaged, and sets that one aside; with nothing to fall back to, it stops naming the
 * file. A finished run resumed does nothing; one whose final model is damaged trains it again.
 */
class CheckpointIntegrityTest {
    static Collator data() {
        return new Collator(ArithmeticTasks.generate(80, 1, 3), new ByteTokenizer(), 128);
    }

    /** 20 steps, a checkpoint every 5: steps 10 and 15 kept (the default 2), the end writes the final model. */
    static TrainConfig cfg() {
        return TrainerTest.sftConfig().checkpointEvery(5).build();
    }

    static TrainingRun.Result sft(Path m0, Path out, boolean resume) {
        return TrainingRun.builder(cfg()).data(data(), Sampler.all(80)).strong(m0).out(out).resume(resume).prepare().run();
    }

    static void damage(Path file) throws IOException {
        byte[] b = Files.readAllBytes(file);
        for (int i = 0; i < 64; i++) b[b.length / 2 + i] ^= (byte) 0x5A;
        Files.write(file, b);
    }

    /** What a body logged on stderr. */
    static <T> String said(Supplier<T> body) {
        PrintStream stderr = System.err;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            System.setErr(new PrintStream(bytes, true, StandardCharsets.UTF_8));
            body.get();
        } finally {
            System.setErr(stderr);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** A copy of a finished run's checkpoints only: the state of a run stopped after its last checkpoint. */
    static Path interrupted(Path full, Path to) throws IOException {
        TrainerTest.copyTree(full.resolve("checkpoints"), to.resolve("checkpoints"));
        Files.copy(full.resolve("metrics.jsonl"), to.resolve("metrics.jsonl"));
        return to;
    }

    @Test
    void aDamagedNewestCheckpointFallsBackToThePreviousOneNamingTheFile(@TempDir Path tmp) throws IOException {
        Path m0 = TrainerTest.init(tmp.resolve("m0"), 1);
        TrainingRun.Result full = sft(m0, tmp.resolve("full"), false);
        try (var s = Files.list(tmp.resolve("full/checkpoints"))) {
            assertEquals(java.util.List.of("step-00000010", "step-00000015"),
                    s.map(p -> p.getFileName().toString()).sorted().toList(), "the newest two are kept");
        }
        // each kind of damage of the newest checkpoint: weights, optimizer state, its own state.json
        for (String what : new String[]{"strong/model.safetensors", "strong/optimizer.pt", "state.json"}) {
            Path run = interrupted(tmp.resolve("full"), tmp.resolve("resumed-" + what.replace('/', '-')));
            Path file = run.resolve("checkpoints/step-00000015").resolve(what);
            if (what.equals("state.json")) Files.writeString(file, Files.readString(file).replace("\"step\": 15", "\"step\": 16"));
            else damage(file);
            String log = said(() -> sft(m0, run, true));
            assertTrue(log.contains("checkpoint " + run.resolve("checkpoints/step-00000015") + " is damaged: ")
                    && log.contains(file + " changed since it was written")
                    && log.contains("resuming from the previous complete checkpoint, step 10"), what + ": " + log);
            assertTrue(Files.isDirectory(run.resolve("checkpoints/step-00000015.damaged")), "set aside");
            TrainerTest.assertSameBytes(full.strong(), run.resolve("strong"), "resumed from step 10 after damage to " + what);
        }
    }

    /**
     * A checkpoint's name is checked against its state (an audit: step 10's checkpoint renamed step-00000099 was
     * resumed, over the newer step 15); an earlier set-aside checkpoint is kept when another is set aside.
     */
    @Test
    void aRenamedCheckpointIsNotTakenAndEarlierSetAsidesStay(@TempDir Path tmp) throws IOException {
        Path m0 = TrainerTest.init(tmp.resolve("m0"), 1);
        TrainingRun.Result full = sft(m0, tmp.resolve("full"), false);
        Path run = interrupted(tmp.resolve("full"), tmp.resolve("renamed"));
        Files.move(run.resolve("checkpoints/step-00000010"), run.resolve("checkpoints/step-00000099"));
        Path earlier = Files.createDirectories(run.resolve("checkpoints/step-00000099.damaged"));
        Files.writeString(earlier.resolve("note.txt"), "set aside before");
        String log = said(() -> sft(m0, run, true));
        assertTrue(log.contains("it holds the checkpoint of step 10 under the name of step 99")
                && log.contains("resuming from the previous complete checkpoint, step 15")
                && log.contains("(set aside as step-00000099.damaged-2)"), log);
        assertEquals("set aside before", Files.readString(earlier.resolve("note.txt")), "the earlier set-aside stays");
        TrainerTest.assertSameBytes(full.strong(), run.resolve("strong"), "resumed from step 15");
    }

    @Test
    void withNothingToFallBackToTheResumeStopsNamingTheFile(@TempDir Path tmp) throws IOException {
        Path m0 = TrainerTest.init(tmp.resolve("m0"), 1);
        TrainConfig one = cfg().toBuilder().keepCheckpoints(1).build();
        Path full = tmp.resolve("full");
        TrainingRun.builder(one).data(data(), Sampler.all(80)).strong(m0).out(full).prepare().run();
        Path run = interrupted(full, tmp.resolve("resumed"));
        Path weights = run.resolve("checkpoints/step-00000015/strong/model.safetensors");
        damage(weights);
        String metrics = Files.readString(run.resolve("metrics.jsonl"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () ->
                TrainingRun.builder(one).data(data(), Sampler.all(80)).strong(m0).out(run).resume(true).prepare());
        assertTrue(e.getMessage().contains(weights + " changed since it was written")
                && e.getMessage().contains("no complete checkpoint in " + run.resolve("checkpoints") + " verifies"), e.getMessage());
        assertEquals(metrics, Files.readString(run.resolve("metrics.jsonl")), "nothing written");
        assertFalse(Files.exists(run.resolve("strong")));
    }

    @Test
    void aFinishedRunResumedDoesNothingUnlessItsFinalModelIsDamaged(@TempDir Path tmp) throws IOException {
        Path m0 = TrainerTest.init(tmp.resolve("m0"), 1), out = tmp.resolve("run");
        sft(m0, out, false);
        Path weights = out.resolve("strong/model.safetensors");
        byte[] finalBytes = Files.readAllBytes(weights);
        String metrics = Files.readString(out.resolve("metrics.jsonl"));
        long made = Files.getLastModifiedTime(weights).toMillis();
        TrainingRun.Result[] r = new TrainingRun.Result[1];
        String log = said(() -> r[0] = sft(m0, out, true));
        assertEquals(20, r[0].steps());
        assertTrue(log.contains("finished before (step 20 of 20") && !log.contains("were lost"), log);
        assertEquals(metrics, Files.readString(out.resolve("metrics.jsonl")), "no step trained again");
        assertEquals(made, Files.getLastModifiedTime(weights).toMillis());
        // the final model damaged: trained again from the newest checkpoint (step 15), to the same bytes
        damage(weights);
        log = said(() -> sft(m0, out, true));
        assertTrue(log.contains("finished before, but its final models are damaged: " + weights + " changed"), log);
        assertArrayEquals(finalBytes, Files.readAllBytes(weights));
        java.util.List<com.google.gson.JsonObject> before = new java.util.ArrayList<>();
        for (String l : metrics.split("\n")) before.add(com.google.gson.JsonParser.parseString(l).getAsJsonObject());
        TrainerTest.sameSteps(before, TrainerTest.metrics(out), 1, "steps 16..20 trained again");
    }
}
