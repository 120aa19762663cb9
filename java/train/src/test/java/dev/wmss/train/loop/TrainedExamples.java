package dev.wmss.train.loop;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * What a run trained on, from its batches.jsonl ({@link BatchLog}: the examples each step's batches were collated
 * from), checked against the examples it should have trained on: every epoch exactly the active set (a WD-DS draw
 * with its repeats), no more, no fewer, nothing else.
 */
public final class TrainedExamples {
    private TrainedExamples() {}

    /** Every step's examples of a run directory, in step order, rank 0's file and the other ranks' concatenated. */
    public static List<int[]> steps(Path runDir) throws IOException {
        List<Path> files = new ArrayList<>();
        for (int r = 0; Files.exists(BatchLog.file(runDir, r)); r++) files.add(BatchLog.file(runDir, r));
        assertFalse(files.isEmpty(), "no batches.jsonl in " + runDir);
        List<List<String>> lines = new ArrayList<>();
        for (Path f : files) lines.add(Files.readAllLines(f));
        List<int[]> out = new ArrayList<>();
        for (int i = 0; i < lines.getFirst().size(); i++) {
            int step = -1;
            List<Integer> all = new ArrayList<>();
            for (List<String> rank : lines) {
                JsonObject o = JsonParser.parseString(rank.get(i)).getAsJsonObject();
                int s = o.get("step").getAsInt();
                assertTrue(step < 0 || s == step, "ranks' lines out of step: " + s + " vs " + step);
                step = s;
                for (var e : o.getAsJsonArray("examples")) all.add(e.getAsInt());
            }
            assertEquals(i + 1, step, "steps in order from 1 in " + runDir);
            out.add(all.stream().mapToInt(Integer::intValue).toArray());
        }
        return out;
    }

    /** {@link #assertEachEpochIsExactly} with the epochs the run's train.json records. */
    public static void assertTrainsOnItsDraw(Path runDir, int[] active) throws IOException {
        JsonObject train = JsonParser.parseString(Files.readString(runDir.resolve("train.json"))).getAsJsonObject();
        assertEachEpochIsExactly(runDir, active, train.getAsJsonObject("config").get("epochs").getAsInt());
    }

    /**
     * Asserts that each of the run's epochs trained on exactly the multiset active (in any order), and that active
     * is not a fixture that would hide the error (every index once, as training on positions 0..n-1 would give).
     */
    public static void assertEachEpochIsExactly(Path runDir, int[] active, int epochs) throws IOException {
        int[] want = active.clone();
        Arrays.sort(want);
        boolean identity = true;
        for (int i = 0; i < want.length; i++) identity &= want[i] == i;
        assertFalse(identity, "the fixture's active set must not be 0..n-1 (it cannot tell a draw from positions)");
        List<int[]> steps = steps(runDir);
        int[] flat = steps.stream().flatMapToInt(Arrays::stream).toArray();
        assertEquals((long) epochs * active.length, flat.length, "examples trained in " + runDir);
        for (int e = 0; e < epochs; e++) {
            int[] got = Arrays.copyOfRange(flat, e * active.length, (e + 1) * active.length);
            Arrays.sort(got);
            assertArrayEquals(want, got, "epoch " + (e + 1) + " of " + runDir + " trained on other examples than the draw");
        }
    }
}
