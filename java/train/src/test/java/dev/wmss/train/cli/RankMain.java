package dev.wmss.train.cli;

import dev.wmss.train.loop.DataParallel;

import java.util.ArrayList;
import java.util.List;

/**
 * One rank of {@link DataParallelRunTest}, a JVM with torchrun's variables: runs the commands given (separated by
 * {@code --then}) one after the other in this process, as a pipeline would (one process group for all of them),
 * and exits with the first failing command's code.
 */
public final class RankMain {
    private RankMain() {}

    public static void main(String[] args) {
        dev.wmss.train.loop.Shutdown.install();
        List<List<String>> commands = new ArrayList<>(List.of(new ArrayList<>()));
        for (String a : args) {
            if (a.equals("--then")) commands.add(new ArrayList<>());
            else commands.getLast().add(a);
        }
        int code = 0;
        for (List<String> c : commands) {
            System.out.println("command: " + String.join(" ", c));
            code = Main.commandLine().execute(c.toArray(String[]::new));
            if (code != 0) break;
        }
        DataParallel.leave();
        dev.wmss.train.loop.Shutdown.exit(code);
    }
}
