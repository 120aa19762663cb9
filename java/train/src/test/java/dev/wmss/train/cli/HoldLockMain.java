package dev.wmss.train.cli;

import dev.wmss.train.loop.OutputLock;

import java.nio.file.Path;

/** Holds the --out lock of a directory (args[0]) until killed, printing "held" once it has it: another process's run. */
public final class HoldLockMain {
    private HoldLockMain() {}

    public static void main(String[] args) throws InterruptedException {
        OutputLock lock = OutputLock.acquire(Path.of(args[0]), true, "--out");
        System.out.println("held");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
        lock.close();
    }
}
