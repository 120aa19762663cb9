package dev.wmss.train.cli;

import dev.wmss.runtime.TorchModel;
import dev.wmss.train.loop.TrainerTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * An audit of the CLI found commands that overwrote what they read or an earlier run, exit code 0: export over its own
 * model (fp32 weights replaced by bf16), entropy/select over an input file, sft over a finished run without a
 * checkpoint (its own input model inside --out), and eval's token loss changing with --max-new. Each is refused or
 * fixed; the inputs stay as they were.
 */
class OutputOverInputTest {
    private static Path model(Path dir, long seed) {
        try (TorchModel m = TorchModel.init(TrainerTest.TINY, seed)) {
            m.save(dir);
        }
        return dir;
    }

    private static Path data(Path tmp) throws Exception {
        Path d = tmp.resolve("d.jsonl");
        Files.writeString(d, "{\"prompt\": \"Q: 1+1\\nA: \", \"response\": \"1 + 1 = 2\\n#### 2\"}\n".repeat(8));
        return d;
    }

    private static void assertRefused(CliRun r, String says) {
        assertNotEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.err().contains(says), r.err());
    }

    @Test
    void exportEntropyAndSelectRefuseToWriteOverAnInput(@TempDir Path tmp) throws Exception {
        Path m = model(tmp.resolve("m"), 1), d = data(tmp);
        byte[] weights = Files.readAllBytes(m.resolve("model.safetensors"));
        assertRefused(CliRun.of("export", "--model", m.toString(), "--out", m.toString()), "is the --model directory it reads");
        assertRefused(CliRun.of("export", "--model", m.toString(), "--out", m.resolve(".").toString()), "it reads");
        assertArrayEquals(weights, Files.readAllBytes(m.resolve("model.safetensors")));

        String lines = Files.readString(d);
        assertRefused(CliRun.of("entropy", "--model", m.toString(), "--data", d.toString(), "--out", d.toString()),
                "is the --data file it reads");
        assertEquals(lines, Files.readString(d));

        Path h = tmp.resolve("h.jsonl");
        assertEquals(0, CliRun.of("entropy", "--model", m.toString(), "--data", d.toString(), "--out", h.toString()).code());
        String entropies = Files.readString(h);
        assertRefused(CliRun.of("select", "--weak-entropy", h.toString(), "--strong-entropy", h.toString(), "--data",
                d.toString(), "--out", h.toString()), "is the --weak-entropy file it reads");
        assertEquals(entropies, Files.readString(h));
    }

    @Test
    void sftRefusesAnEarlierRunAndAModelInsideItsOut(@TempDir Path tmp) throws Exception {
        Path m = model(tmp.resolve("m"), 1), d = data(tmp), run = tmp.resolve("run");
        String[] sft = {"sft", "--model", m.toString(), "--data", d.toString(), "--out", run.toString(), "--batch", "4",
                "--checkpoint-every", "0"};
        assertEquals(0, CliRun.of(sft).code());
        byte[] trained = Files.readAllBytes(run.resolve("strong/model.safetensors"));
        assertRefused(CliRun.of(sft), "already holds a run");
        assertRefused(CliRun.of("sft", "--model", run.resolve("strong").toString(), "--data", d.toString(), "--out",
                run.toString(), "--batch", "4"), "is inside --out");
        assertArrayEquals(trained, Files.readAllBytes(run.resolve("strong/model.safetensors")));
    }

    @Test
    void evalTokenLossFollowsMaxLenNotMaxNew(@TempDir Path tmp) throws Exception {
        Path m = model(tmp.resolve("m"), 3), d = tmp.resolve("long.jsonl");
        Files.writeString(d, "{\"prompt\": \"Q: 1+1\\nA: \", \"response\": \"one plus one is 2\\n#### 2\"}\n".repeat(4));
        Double first = null;
        for (String maxNew : new String[]{"1", "5", "40"}) { // --max-len 24 cuts every response
            CliRun r = CliRun.of("eval", "--model", m.toString(), "--data", d.toString(), "--max-len", "24", "--max-new", maxNew);
            assertEquals(0, r.code(), r.err());
            Matcher x = Pattern.compile("token loss ([0-9.]+)").matcher(r.out());
            assertTrue(x.find(), r.out());
            double loss = Double.parseDouble(x.group(1));
            assertTrue(loss > 0, "some answer tokens are scored: " + r.out());
            if (first == null) first = loss;
            assertEquals(first, loss, 0.0, "--max-new " + maxNew);
        }
    }
}
