package dev.wmss.train.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.train.data.Example;
import dev.wmss.train.experiment.Experiment;
import dev.wmss.train.experiment.ExperimentSpec;
import dev.wmss.train.loop.TrainedExamples;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

/**
 * WD-DS has one implementation ({@link dev.wmss.train.method.WdDs}): `run`, `wmss` and the experiment draw the same
 * examples for the same models, data, variant and seed. `run` makes M1 itself and `experiment` makes M0 and M1: `wmss`
 * is given those models and data, and its draw is compared with theirs (which can fail: another seed, variant or
 * model gives another draw, as the last check shows). And what each one's WD-JT trained on, epoch by epoch, is its
 * draw with the repeats (batches.jsonl), not positions 0..|D'|-1.
 */
class SameDrawTest {
    private static int[] indices(Path activeJson) throws Exception {
        JsonObject o = JsonParser.parseString(Files.readString(activeJson)).getAsJsonObject();
        return new com.google.gson.Gson().fromJson(o.get("indices"), int[].class);
    }

    private static CliRun wmss(Path weak, Path strong, Path data, Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("wmss", "--weak", weak.toString(), "--strong", strong.toString(),
                "--data", data.toString(), "--out", out.toString(), "--log-every", "50",
                "--checkpoint-every", "0"));
        args.addAll(List.of(more));
        return CliRun.of(args.toArray(String[]::new));
    }

    @Test
    void runWmssAndTheExperimentDrawTheSameExamples(@TempDir Path tmp) throws Exception {
        // run: M1 = SFT of M0, then WD-DS under M0 and M1 with --seed 7
        Path m0 = RunCommandTest.model(tmp.resolve("m0"), 1);
        Path data = tmp.resolve("d.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 24; i++) {
            lines.append("{\"prompt\": \"Q: ").append(i).append(" + 3\\nA: \", \"response\": \"").append(i).append(" + 3 = ")
                    .append(i + 3).append("\\n#### ").append(i + 3).append("\"}\n");
        }
        Files.writeString(data, lines);
        Path run = tmp.resolve("run");
        CliRun r = CliRun.of("run", "--base", m0.toString(), "--train", data.toString(), "--eval", "none", "--out",
                run.toString(), "--batch", "8", "--seed", "7", "--lr", "3e-3", "--log-every", "50", "--checkpoint-every", "0");
        assertEquals(0, r.code(), r.err());
        int[] fromRun = indices(run.resolve("wdds/active.json"));
        assertEquals(24, fromRun.length, "CODE: |D| draws with repeats");
        TrainedExamples.assertTrainsOnItsDraw(run.resolve("wdjt"), fromRun); // what WD-JT trained on is the draw

        // wmss on the same M0, run's M1, the same data and seed: the same entropies and the same draw
        Path w = tmp.resolve("wmss");
        CliRun jt = wmss(m0, run.resolve("m1/strong"), data, w, "--selection", "code", "--seed", "7", "--batch", "8");
        assertEquals(0, jt.code(), jt.err());
        assertArrayEquals(fromRun, indices(w.resolve("active.json")));
        TrainedExamples.assertTrainsOnItsDraw(w, fromRun);
        assertEquals(Files.readString(run.resolve("wdds/entropy-strong.jsonl")), Files.readString(w.resolve("entropy-strong.jsonl")));
        // both write the same fields
        assertEquals(JsonParser.parseString(Files.readString(run.resolve("wdds/active.json"))).getAsJsonObject().keySet(),
                JsonParser.parseString(Files.readString(w.resolve("active.json"))).getAsJsonObject().keySet());

        // the experiment (gated: no arms) draws seed 1's set under its M0 and M1 with seed 1; wmss given those draws the same
        Path x = tmp.resolve("x");
        ExperimentSpec spec = ExperimentSpec.QUICK.toBuilder().seeds(1).build();
        Experiment.Result e = Experiment.run(x, spec, false, false, false);
        int[] fromExperiment = e.regimes().getFirst().draw();
        Path seedSet = tmp.resolve("seed-1.jsonl");
        StringBuilder problems = new StringBuilder();
        for (Example ex : Experiment.trainingSet(spec, 1)) {
            JsonObject o = new JsonObject();
            o.addProperty("prompt", ex.prompt());
            o.addProperty("response", ex.response());
            problems.append(o).append('\n');
        }
        Files.writeString(seedSet, problems);
        Path w2 = tmp.resolve("wmss-x");
        CliRun jtx = wmss(x.resolve("base/strong"), x.resolve("seed-1/m1/strong"), seedSet, w2, "--selection", "code",
                "--seed", "1", "--max-len", String.valueOf(spec.maxLen()), "--batch", String.valueOf(spec.batch()));
        assertEquals(0, jtx.code(), jtx.err());
        assertArrayEquals(fromExperiment, indices(w2.resolve("active.json")));

        // and the comparison can fail: another seed draws other examples
        Path w3 = tmp.resolve("wmss-other");
        CliRun other = wmss(m0, run.resolve("m1/strong"), data, w3, "--selection", "code", "--seed", "8", "--batch", "8");
        assertEquals(0, other.code(), other.err());
        assertFalse(java.util.Arrays.equals(fromRun, indices(w3.resolve("active.json"))), "seed 8 draws as seed 7 does");
    }
}
