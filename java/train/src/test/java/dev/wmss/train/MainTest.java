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
        assertTrue(r.out().contains("demo"), r.out());
    }

    @Test
    void demoRunsAndReportsAllVariants() {
        Run r = run("demo", "--rows", "64", "--vocab", "1001", "--iters", "2");
        assertEquals(0, r.code(), r.err());
        for (String s : new String[]{"fused", "unfused", "java", "copy bandwidth", "faster than unfused"}) {
            assertTrue(r.out().contains(s), "missing '" + s + "' in:\n" + r.out());
        }
    }

    @Test
    void badOptionsGiveAClearError() {
        Run r = run("demo", "--rows", "0");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("--rows"), r.err());
        Run d = run("demo", "--dtype", "f16");
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
