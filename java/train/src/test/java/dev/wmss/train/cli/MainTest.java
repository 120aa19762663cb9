package dev.wmss.train.cli;

import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.*;

/** The CLI: help without arguments, the demo on a small size, clear errors for bad options. */
class MainTest {
    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    /** Each command's help says what its --out is (an audit: export's help listed every command's meaning). */
    @Test
    void eachCommandsHelpSaysWhatItsOutIs() {
        java.util.Map<String, String> says = java.util.Map.of("export", "The model directory to write", "entropy",
                "JSONL file of the examples' entropies", "sft", "the trained model in strong/", "init", "The new model's directory");
        for (var e : says.entrySet()) {
            CliRun help = run(e.getKey(), "--help");
            assertEquals(0, help.code());
            String out = help.out().replaceAll("\\s+", " ");
            assertTrue(out.contains(e.getValue()), e.getKey() + ": " + out);
            assertFalse(out.contains("a run directory (sft, wmss, demo), a JSONL file"), e.getKey() + ": " + out);
        }
    }

    @Test
    void noArgumentsPrintsHelp() {
        CliRun r = run();
        assertEquals(0, r.code());
        assertTrue(r.out().contains("Usage: wmss-native"), r.out());
        for (String c : new String[]{"demo", "sft", "entropy", "select", "wmss", "eval", "export", "bench-step"}) {
            assertTrue(r.out().contains(c), "help lacks " + c + ":\n" + r.out());
        }
    }

    @Test
    void theCommandListShowsWholeSentences() {
        // the top-level help shows each command's first description line: it must be a sentence of its own
        for (var e : Main.commandLine().getSubcommands().entrySet()) {
            String[] d = e.getValue().getCommandSpec().usageMessage().description();
            assertTrue(d.length > 0, e.getKey());
            assertTrue(d[0].endsWith(".") && !d[0].endsWith(":") && !d[0].endsWith(";"),
                    e.getKey() + "'s first help line is cut off: " + d[0]);
        }
    }

    @Test
    void evalAndRunGenerateTheSameNumberOfTokensByDefault() {
        String eval = Main.commandLine().getSubcommands().get("eval").getCommandSpec().findOption("--max-new").defaultValue();
        String run = Main.commandLine().getSubcommands().get("run").getCommandSpec().findOption("--max-new").defaultValue();
        assertEquals(run, eval);
        assertEquals("256", eval, "GSM8K's reasoning needs about 200 tokens");
    }

    @Test
    void pipelineCommandsExplainBadInput(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        CliRun missing = run("sft", "--data", "builtin:train", "--out", tmp.toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("--model"), missing.err());
        CliRun notModel = run("sft", "--model", tmp.toString(), "--data", "builtin:train", "--out", tmp.resolve("o").toString());
        assertEquals(1, notModel.code());
        assertTrue(notModel.err().contains("no config.json"), notModel.err());
        java.nio.file.Path model = java.nio.file.Files.createDirectories(tmp.resolve("m"));
        try (var m = dev.wmss.runtime.TorchModel.init(dev.wmss.train.loop.TrainerTest.TINY, 1)) {
            m.save(model);
        }
        java.nio.file.Path bad = tmp.resolve("bad.jsonl");
        java.nio.file.Files.writeString(bad, "{\"prompt\": \"a\", \"response\": \"b\"}\nnot json\n");
        CliRun badData = run("sft", "--model", model.toString(), "--data", bad.toString(), "--out", tmp.resolve("o").toString());
        assertEquals(1, badData.code());
        assertTrue(badData.err().contains("bad.jsonl:2") && badData.err().contains("malformed JSON"), badData.err());
        CliRun sel = run("select", "--weak-entropy", tmp.resolve("none.jsonl").toString(), "--strong-entropy", "x",
                "--data", "builtin:train", "--out", tmp.resolve("s.jsonl").toString());
        assertEquals(1, sel.code());
        assertTrue(sel.err().contains("--weak-entropy: entropy file not found") && sel.err().contains("none.jsonl"), sel.err());
        // enum options take any case; an entropy file's bad line is named as an editor counts lines (blank ones too)
        java.nio.file.Path h = tmp.resolve("h.jsonl");
        java.nio.file.Files.writeString(h, "{\"index\": 0, \"entropy\": 1}\n\n{\"index\": 1}\n");
        CliRun badLine = run("select", "--weak-entropy", h.toString(), "--strong-entropy", h.toString(), "--variant", "paper",
                "--data", "builtin:train", "--out", tmp.resolve("s.jsonl").toString());
        assertEquals(1, badLine.code(), badLine.err());
        assertTrue(badLine.err().contains("h.jsonl:3"), badLine.err());
    }

    @Test
    void dataIsExactlyABuiltinNameOrAPathAndAnExistingFileWins(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp)
            throws Exception {
        java.nio.file.Path model = java.nio.file.Files.createDirectories(tmp.resolve("m"));
        try (var m = dev.wmss.runtime.TorchModel.init(dev.wmss.train.loop.TrainerTest.TINY, 1)) {
            m.save(model);
        }
        CliRun bogus = run("entropy", "--model", model.toString(), "--data", "builtin:bogus", "--out", tmp.resolve("h.jsonl").toString());
        assertEquals(1, bogus.code());
        assertTrue(bogus.err().contains("builtin:bogus") && bogus.err().contains("builtin:train and builtin:test"), bogus.err());
        // a real file whose name starts with "builtin" is read, not replaced by the built-in task
        java.nio.file.Path own = tmp.resolve("builtin-mydata.jsonl");
        java.nio.file.Files.writeString(own, "{\"prompt\": \"a\", \"response\": \"b\"}\n".repeat(3));
        CliRun mine = run("entropy", "--model", model.toString(), "--data", own.toString(), "--out", tmp.resolve("h.jsonl").toString());
        assertEquals(0, mine.code(), mine.err());
        assertEquals(3, java.nio.file.Files.readAllLines(tmp.resolve("h.jsonl")).size());
        // and a file literally named builtin:train wins over the built-in set
        java.nio.file.Path named = tmp.resolve("builtin:train");
        java.nio.file.Files.writeString(named, "{\"prompt\": \"a\", \"response\": \"b\"}\n");
        String cwdFile = named.toString();
        CliRun literal = run("entropy", "--model", model.toString(), "--data", cwdFile, "--out", tmp.resolve("h2.jsonl").toString());
        assertEquals(0, literal.code(), literal.err());
        assertEquals(1, java.nio.file.Files.readAllLines(tmp.resolve("h2.jsonl")).size());
    }

    @Test
    void everyOptionIsCheckedBeforeAnyWork(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        long t0 = System.nanoTime();
        CliRun demo = run("demo", "--lambda", "1.5", "--out", tmp.resolve("demo").toString());
        assertEquals(1, demo.code());
        assertTrue(demo.err().contains("--lambda must be in [0, 1], got 1.5"), demo.err());
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "no stage may run before the check");
        assertFalse(java.nio.file.Files.exists(tmp.resolve("demo")), "nothing is written");
        CliRun levels = run("demo", "--levels", "4", "--out", tmp.resolve("demo").toString());
        assertTrue(levels.code() == 1 && levels.err().contains("--levels"), levels.err());

        java.nio.file.Path model = java.nio.file.Files.createDirectories(tmp.resolve("m"));
        try (var m = dev.wmss.runtime.TorchModel.init(dev.wmss.train.loop.TrainerTest.TINY, 1)) {
            m.save(model);
        }
        java.nio.file.Path out = tmp.resolve("run");
        CliRun ck = run("sft", "--model", model.toString(), "--data", "builtin:train", "--out", out.toString(),
                "--checkpoint-every", "-1");
        assertEquals(1, ck.code());
        assertTrue(ck.err().contains("--checkpoint-every must be >= 0, got -1"), ck.err());
        assertFalse(java.nio.file.Files.exists(out.resolve("run.json")), "run.json only for good inputs");
        CliRun head = run("sft", "--model", model.toString(), "--data", "builtin:train", "--out", out.toString(), "--head", "half");
        // an enum option: picocli names the option, the values and what was given (usage error: exit code 2)
        assertTrue(head.code() == 2 && head.err().contains("--head") && head.err().contains("FUSED, FULL")
                && head.err().contains("'half'"), head.err());
        CliRun chunk = run("entropy", "--model", model.toString(), "--data", "builtin:train", "--out",
                tmp.resolve("h.jsonl").toString(), "--head-chunk-mb", "0");
        assertTrue(chunk.code() == 1 && chunk.err().contains("--head-chunk-mb must be >= 1, got 0"), chunk.err());
        assertFalse(java.nio.file.Files.exists(out.resolve("run.json")));
        CliRun resume = run("sft", "--model", model.toString(), "--data", "builtin:train", "--out", out.toString(), "--resume");
        assertEquals(1, resume.code());
        assertTrue(resume.err().contains("--resume: no checkpoint"), resume.err());
        assertFalse(java.nio.file.Files.exists(out.resolve("run.json")));
        // an output that is a file: named, before anything is trained
        java.nio.file.Path file = java.nio.file.Files.writeString(tmp.resolve("f"), "x");
        CliRun outFile = run("sft", "--model", model.toString(), "--data", "builtin:train", "--out", file.toString());
        assertEquals(1, outFile.code());
        assertTrue(outFile.err().contains("is a file, not a directory"), outFile.err());
        CliRun sub = run("entropy", "--model", model.toString(), "--data", "builtin:train", "--out", file.resolve("h.jsonl").toString());
        assertEquals(1, sub.code());
        assertTrue(sub.err().contains("Not a directory") || sub.err().contains("not a directory"), sub.err());
        // config.json that is not JSON, and max-len too short for the answers
        java.nio.file.Path broken = java.nio.file.Files.createDirectories(tmp.resolve("broken"));
        java.nio.file.Files.writeString(broken.resolve("config.json"), "vocab_size = 259");
        CliRun notJson = run("eval", "--model", broken.toString());
        assertEquals(1, notJson.code());
        assertTrue(notJson.err().contains("config.json is not usable JSON: malformed JSON at line 1"), notJson.err());
        CliRun shortLen = run("sft", "--model", model.toString(), "--data", "builtin:train", "--out", out.toString(),
                "--max-len", "40");
        assertEquals(1, shortLen.code());
        assertTrue(shortLen.err().contains("have no answer token within --max-len 40") && shortLen.err().contains("would fit"),
                shortLen.err());
        assertFalse(java.nio.file.Files.exists(out.resolve("run.json")));
    }

    @Test
    void sftThenEvalThroughTheCli(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path model = java.nio.file.Files.createDirectories(tmp.resolve("m0"));
        try (var m = dev.wmss.runtime.TorchModel.init(dev.wmss.train.loop.TrainerTest.TINY, 1)) {
            m.save(model);
        }
        java.nio.file.Path data = tmp.resolve("d.jsonl");
        java.nio.file.Files.writeString(data, "{\"prompt\": \"Q: 1+1\\nA: \", \"response\": \"1 + 1 = 2\\n#### 2\"}\n".repeat(16));
        CliRun sft = run("sft", "--model", model.toString(), "--data", data.toString(), "--out", tmp.resolve("run").toString(),
                "--batch", "8", "--log-every", "1");
        assertEquals(0, sft.code(), sft.err());
        assertTrue(java.nio.file.Files.exists(tmp.resolve("run/run.json")));
        assertTrue(java.nio.file.Files.exists(tmp.resolve("run/strong/model.safetensors")));
        CliRun eval = run("eval", "--model", tmp.resolve("run/strong").toString(), "--data", data.toString(), "--max-new", "8");
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().contains("exact match"), eval.out());
        CliRun export = run("export", "--model", tmp.resolve("run/strong").toString(), "--out", tmp.resolve("hf").toString());
        assertEquals(0, export.code(), export.err());
        assertTrue(java.nio.file.Files.exists(tmp.resolve("hf/model.safetensors")));
    }

    @Test
    void wmssRoundsRerunSelectionEachRound(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path m0 = java.nio.file.Files.createDirectories(tmp.resolve("m0"));
        java.nio.file.Path m1 = java.nio.file.Files.createDirectories(tmp.resolve("m1"));
        try (var a = dev.wmss.runtime.TorchModel.init(dev.wmss.train.loop.TrainerTest.TINY, 1);
             var b = dev.wmss.runtime.TorchModel.init(dev.wmss.train.loop.TrainerTest.TINY, 2)) {
            a.save(m0);
            b.save(m1);
        }
        java.nio.file.Path data = tmp.resolve("d.jsonl");
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 24; i++) {
            lines.append("{\"prompt\": \"Q: ").append(i).append("+1\\nA: \", \"response\": \"#### ").append(i + 1).append("\"}\n");
        }
        java.nio.file.Files.writeString(data, lines);
        String[] common = {"wmss", "--weak", m0.toString(), "--strong", m1.toString(), "--data", data.toString(),
                "--batch", "8", "--log-every", "1", "--rounds", "2"};
        CliRun none = run(concat(common, "--out", tmp.resolve("none").toString()));
        assertEquals(1, none.code());
        assertTrue(none.err().contains("re-runs WD-DS in every round") && none.err().contains("--selection CODE or PAPER"),
                none.err());
        CliRun r = run(concat(common, "--out", tmp.resolve("run").toString(), "--selection", "code"));
        assertEquals(0, r.code(), r.err());
        com.google.gson.JsonObject a1 = com.google.gson.JsonParser.parseString(
                java.nio.file.Files.readString(tmp.resolve("run/round-1/active.json"))).getAsJsonObject();
        com.google.gson.JsonObject a2 = com.google.gson.JsonParser.parseString(
                java.nio.file.Files.readString(tmp.resolve("run/round-2/active.json"))).getAsJsonObject();
        assertEquals(24, a1.get("draws").getAsInt());
        assertEquals(24, a2.get("draws").getAsInt());
        // round 2's entropies are those of round 1's models: its weak model is round 1's initial strong model (m1)
        assertEquals(java.nio.file.Files.readString(tmp.resolve("run/round-1/entropy-strong.jsonl")),
                java.nio.file.Files.readString(tmp.resolve("run/round-2/entropy-weak.jsonl")));
        assertNotEquals(java.nio.file.Files.readString(tmp.resolve("run/round-1/entropy-weak.jsonl")),
                java.nio.file.Files.readString(tmp.resolve("run/round-2/entropy-weak.jsonl")));
        assertNotEquals(a1.get("indices"), a2.get("indices"), "a new draw in round 2");
        assertTrue(java.nio.file.Files.exists(tmp.resolve("run/round-2/strong/model.safetensors")));
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void badOptionsGiveAClearError() {
        CliRun d = run("bench-step", "--batch", "many");
        assertEquals(2, d.code());
        assertTrue(d.err().contains("--batch"), d.err());
    }

    @Test
    void infoNamesTheBackend() {
        CliRun r = run("info");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("backend  : cpu"), r.out());
    }
}
