package dev.wmss.train.cli;

import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;

/** One in-process run of the CLI for tests: exit code, what it printed (System.out and picocli's out) and its errors. */
record CliRun(int code, String out, String err) {
    static CliRun of(String... args) {
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
            return new CliRun(code, out + picoOut.toString(), err.toString());
        } finally {
            System.setOut(old);
            dev.wmss.train.loop.Placement.use(null); // the next command (or test) resolves its own placement
        }
    }
}
