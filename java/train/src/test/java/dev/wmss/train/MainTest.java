package dev.wmss.train;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;

import static org.junit.jupiter.api.Assertions.*;

/** The CLI: help without arguments, the demo on a small size, clear errors for bad options. */
class MainTest {
    private record Run(int code, String out, String err) {}

    private static Run run(String... args) {
        CommandLine cl = Main.commandLine();
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true));
        StringWriter picoOut = new StringWriter();
        cl.setOut(new PrintWriter(picoOut));
        try {
            int code = cl.execute(args);
            return new Run(code, out + picoOut.toString(), err.toString());
        } finally {
            System.setOut(old);
        }
    }

    @Test
    void noArgumentsPrintsHelp() {
        Run r = run();
        assertEquals(0, r.code());
        assertTrue(r.out().contains("Usage: wmss-native"), r.out());
        for (String c : new String[]{"demo", "sft", "entropy", "select", "wmss", "eval", "export", "bench-kernel"}) {
            assertTrue(r.out().contains(c), "help lacks " + c + ":\n" + r.out());
        }
    }

    @Test
    void pipelineCommandsExplainBadInput(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        Run missing = run("sft", "--data", "builtin:train", "--out", tmp.toString());
        assertEquals(2, missing.code());
        assertTrue(missing.err().contains("--model"), missing.err());
        Run notModel = run("sft", "--model", tmp.toString(), "--data", "builtin:train", "--out", tmp.resolve("o").toString());
        assertEquals(1, notModel.code());
        assertTrue(notModel.err().contains("no config.json"), notModel.err());
        java.nio.file.Path model = java.nio.file.Files.createDirectories(tmp.resolve("m"));
        try (var m = dev.wmss.kernels.torch.TorchModel.init(dev.wmss.train.loop.TrainerTest.TINY, 1)) {
            m.save(model);
        }
        java.nio.file.Path bad = tmp.resolve("bad.jsonl");
        java.nio.file.Files.writeString(bad, "{\"prompt\": \"a\", \"response\": \"b\"}\nnot json\n");
        Run badData = run("sft", "--model", model.toString(), "--data", bad.toString(), "--out", tmp.resolve("o").toString());
        assertEquals(1, badData.code());
        assertTrue(badData.err().contains("bad.jsonl:2") && badData.err().contains("malformed JSON"), badData.err());
        Run sel = run("select", "--weak-entropy", tmp.resolve("none.jsonl").toString(), "--strong-entropy", "x",
                "--data", "builtin:train", "--out", tmp.resolve("s.jsonl").toString());
        assertEquals(1, sel.code());
        assertTrue(sel.err().contains("none.jsonl"), sel.err());
    }

    @Test
    void sftThenEvalThroughTheCli(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmp) throws Exception {
        java.nio.file.Path model = java.nio.file.Files.createDirectories(tmp.resolve("m0"));
        try (var m = dev.wmss.kernels.torch.TorchModel.init(dev.wmss.train.loop.TrainerTest.TINY, 1)) {
            m.save(model);
        }
        java.nio.file.Path data = tmp.resolve("d.jsonl");
        java.nio.file.Files.writeString(data, "{\"prompt\": \"Q: 1+1\\nA: \", \"response\": \"1 + 1 = 2\\n#### 2\"}\n".repeat(16));
        Run sft = run("sft", "--model", model.toString(), "--data", data.toString(), "--out", tmp.resolve("run").toString(),
                "--batch", "8", "--log-every", "1");
        assertEquals(0, sft.code(), sft.err());
        assertTrue(java.nio.file.Files.exists(tmp.resolve("run/run.json")));
        assertTrue(java.nio.file.Files.exists(tmp.resolve("run/strong/model.safetensors")));
        Run eval = run("eval", "--model", tmp.resolve("run/strong").toString(), "--data", data.toString(), "--max-new", "8");
        assertEquals(0, eval.code(), eval.err());
        assertTrue(eval.out().contains("exact match"), eval.out());
        Run export = run("export", "--model", tmp.resolve("run/strong").toString(), "--out", tmp.resolve("hf").toString());
        assertEquals(0, export.code(), export.err());
        assertTrue(java.nio.file.Files.exists(tmp.resolve("hf/model.safetensors")));
    }

    @Test
    void kernelBenchRunsAndReportsAllVariants() {
        Run r = run("bench-kernel", "--rows", "64", "--vocab", "1001", "--iters", "2");
        assertEquals(0, r.code(), r.err());
        for (String s : new String[]{"fused", "unfused", "java", "copy bandwidth", "faster than unfused"}) {
            assertTrue(r.out().contains(s), "missing '" + s + "' in:\n" + r.out());
        }
    }

    @Test
    void badOptionsGiveAClearError() {
        Run r = run("bench-kernel", "--rows", "0");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--rows"), r.err());
        Run d = run("bench-kernel", "--dtype", "f16");
        assertEquals(2, d.code());
        assertTrue(d.err().contains("--dtype"), d.err());
    }

    @Test
    void infoNamesTheBackend() {
        Run r = run("info");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("backend  : cpu"), r.out());
    }
}
