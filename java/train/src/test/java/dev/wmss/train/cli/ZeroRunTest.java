package dev.wmss.train.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.train.loop.TrainerTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static dev.wmss.train.cli.DataParallelRunTest.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@code --zero 1} on 2 ranks (2 JVMs, Gloo): SFT and WD-JT are the {@code --zero 0} runs bit for bit (every step's
 * loss and gradient norm, the final weights' bytes); a checkpoint holds one optimizer shard per rank and trained
 * model, in its manifest; it resumes bit for bit on 2 ranks without sharding, and on 1 process.
 */
class ZeroRunTest {
    /** command with option's value replaced, and more appended. */
    static String[] with(String[] command, String option, String value, String... more) {
        List<String> a = new ArrayList<>(List.of(command));
        a.set(a.indexOf(option) + 1, value);
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    @Timeout(value = 400, unit = TimeUnit.SECONDS)
    void shardedOptimizerTrainsAsTheWholeOneAndResumesWithoutIt(@TempDir Path tmp) throws Exception {
        Path m0 = TrainerTest.init(tmp.resolve("m0"), 1), m1 = TrainerTest.init(tmp.resolve("m1"), 2);
        Path data = data(tmp, 25), two = Files.createDirectories(tmp.resolve("two"));
        awaitSuccess(spawn(two, Map.of(), then(sft(m0, data, two.resolve("sft0")), sft(m0, data, two.resolve("sft1"), "--zero", "1"),
                with(wmss(m0, m1, data, two.resolve("jt0")), "--checkpoint-every", "2"),
                with(wmss(m0, m1, data, two.resolve("jt1")), "--checkpoint-every", "2", "--zero", "1"))), two);

        TrainerTest.sameSteps(metrics(two.resolve("sft0")), metrics(two.resolve("sft1")), 1, "SFT, ZeRO 1 vs 0");
        TrainerTest.assertSameBytes(two.resolve("sft0/strong"), two.resolve("sft1/strong"), "SFT, ZeRO 1 vs 0");
        TrainerTest.sameSteps(metrics(two.resolve("jt0")), metrics(two.resolve("jt1")), 1, "WD-JT, ZeRO 1 vs 0");
        for (String m : new String[]{"strong", "weak"}) {
            TrainerTest.assertSameBytes(two.resolve("jt0").resolve(m), two.resolve("jt1").resolve(m), "WD-JT " + m);
        }
        JsonObject train = JsonParser.parseString(Files.readString(two.resolve("sft1/train.json"))).getAsJsonObject();
        assertEquals(1, train.getAsJsonObject("config").get("zero").getAsInt(), train.toString());

        // the checkpoints: a shard per rank and trained model, no whole state, every file in the manifest
        Path saved = two.resolve("sft1/checkpoints/step-00000009");
        List<String> shards = List.of("optimizer.zero-00000-of-00002.pt", "optimizer.zero-00001-of-00002.pt");
        for (String s : shards) assertTrue(Files.exists(saved.resolve("strong").resolve(s)), s);
        assertFalse(Files.exists(saved.resolve("strong/optimizer.pt")));
        String state = Files.readString(saved.resolve("state.json"));
        for (String s : shards) assertTrue(state.contains("strong/" + s), "the manifest lists " + s + ": " + state);
        Path jtSaved = two.resolve("jt1/checkpoints/step-00000006");
        for (String m : new String[]{"strong", "weak"}) {
            for (String s : shards) assertTrue(Files.exists(jtSaved.resolve(m).resolve(s)), m + "/" + s);
        }

        // resumed from step 9 on 2 ranks without sharding (bit for bit) and on 1 process (fp32's tolerance)
        Path again = Files.createDirectories(tmp.resolve("again"));
        for (Path dir : new Path[]{again.resolve("sft2"), again.resolve("sft1")}) {
            copyTree(saved, dir.resolve("checkpoints/step-00000009"));
            Files.write(dir.resolve("metrics.jsonl"), Files.readAllLines(two.resolve("sft1/metrics.jsonl")).subList(0, 9));
        }
        var ranks = spawn(again, Map.of(), sft(m0, data, again.resolve("sft2"), "--resume"));
        assertEquals(0, runHere(sft(m0, data, again.resolve("sft1"), "--resume")));
        awaitSuccess(ranks, again);
        TrainerTest.sameSteps(metrics(two.resolve("sft1")), metrics(again.resolve("sft2")), 10, "resumed on 2 ranks, ZeRO 0");
        TrainerTest.assertSameBytes(two.resolve("sft1/strong"), again.resolve("sft2/strong"), "resumed on 2 ranks, ZeRO 0");
        sameCurve(metrics(two.resolve("sft1")), metrics(again.resolve("sft1")), 10, 1e-5, "resumed on 1 process");
        double d = maxWeightDifference(two.resolve("sft1/strong"), again.resolve("sft1/strong"));
        assertTrue(d < 2e-5, "resumed on 1 process: final weights differ by " + d);
    }

    @Test
    void stagesNotImplementedAreRefusedBeforeAnyWork(@TempDir Path tmp) throws Exception {
        Path m0 = TrainerTest.init(tmp.resolve("m0"), 1), data = data(tmp, 5);
        var run = CliRun.of(sft(m0, data, tmp.resolve("out"), "--zero", "2"));
        assertEquals(1, run.code(), run.err());
        assertTrue(run.err().contains("--zero 2 is not implemented yet"), run.err());
        assertFalse(Files.exists(tmp.resolve("out/train.json")), "nothing written");
    }
}
