package dev.wmss.train.loop;

import dev.wmss.runtime.Posix;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * How the application's process ends. {@link #install} (first thing in main) records the status a signal asks for
 * (INT 130, TERM 143, HUP 129) and adds one shutdown hook that does the application's shutdown work and then ends the
 * process with {@code _exit}: native libraries' exit-time destructors never run, so none of them can hang the exit
 * (OpenBLAS's gotoblas_quit waiting in pthread_join for a worker that never wakes, seen after Ctrl-C in start-up).
 * The shutdown work: the tasks added with {@link #onShutdown} (the launcher stopping its ranks), and, when a signal
 * reaches a part that stops cooperatively ({@link #cooperate}: the training loop, which checkpoints), waiting until
 * main has finished ({@link #exit}) for at most {@link #GRACE_SECONDS}. A second signal ends the process at once.
 * Without {@link #install} (the library used by another program, tests) nothing of this is active, and
 * {@link #cooperate} falls back to a shutdown hook of its own.
 */
public final class Shutdown {
    private static final Logger LOG = LoggerFactory.getLogger("dev.wmss.train");
    /** The longest the hook waits for a cooperative stop (a checkpoint of a large model included). */
    public static final long GRACE_SECONDS = 120;
    /** Set by the launcher for its ranks: the launcher's pid (a rank stops when that process is gone). */
    public static final String LAUNCHER_PID_ENV = "WMSS_LAUNCHER_PID";

    private static volatile boolean installed, stopping;
    private static volatile int status = -1;
    private static final AtomicInteger interrupts = new AtomicInteger(), cooperating = new AtomicInteger();
    private static final CountDownLatch mainDone = new CountDownLatch(1);
    private static final List<Runnable> tasks = new CopyOnWriteArrayList<>();
    private static final java.util.Map<Runnable, Thread> ownHooks = new java.util.concurrent.ConcurrentHashMap<>();

    private Shutdown() {}

    /** Signal handlers and the exiting hook; once per process, before any work. */
    public static synchronized void install() {
        if (installed) return;
        installed = true;
        for (String name : new String[]{"INT", "TERM", "HUP"}) {
            try {
                Signal.handle(new Signal(name), s -> onSignal(128 + s.getNumber(), "SIG" + name));
            } catch (IllegalArgumentException inUse) {
                // reserved by the JVM (-Xrs) or ignored by the parent: the JVM's own handling stays
            }
        }
        Runtime.getRuntime().addShutdownHook(new Thread(Shutdown::hook, "wmss-exit"));
    }

    /**
     * Under {@code wmss-native launch}: stop (as on SIGTERM, checkpointing where training can) when the launcher is
     * gone, killed even by SIGKILL: Linux's parent-death signal, and a check that the launcher is still the parent
     * (it may have died before the signal was asked for).
     */
    public static void followLauncher() {
        String pid = System.getenv(LAUNCHER_PID_ENV);
        if (pid == null || pid.isBlank()) return;
        long launcher;
        try {
            launcher = Long.parseLong(pid.trim());
        } catch (NumberFormatException e) {
            return;
        }
        boolean armed = Posix.setParentDeathSignal(15);
        long parent = ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(-1L);
        if (parent != launcher) {
            LOG.error("the launcher (pid {}) is gone: stopping", launcher);
            onSignal(143, "the launcher's death");
        } else if (!armed) {
            watchParent(launcher); // not Linux: poll instead
        }
    }

    private static void watchParent(long launcher) {
        Thread t = new Thread(() -> {
            while (ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(-1L) == launcher) {
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
            onSignal(143, "the launcher's death");
        }, "wmss-launcher-watch");
        t.setDaemon(true);
        t.start();
    }

    private static void onSignal(int code, String what) {
        // Ctrl-C twice: at once (a launcher's SIGTERM after the terminal's SIGINT is not a second request)
        if (code == 130 && interrupts.incrementAndGet() > 1 && stopping) {
            System.err.println("wmss: " + what + " again: stopping now, without waiting for a checkpoint");
            System.err.flush();
            Posix.exitNow(status >= 0 ? status : code);
        }
        if (status < 0) status = code;
        stopping = true;
        new Thread(() -> System.exit(code), "wmss-stop").start(); // the hook runs; this thread waits in exit
    }

    /**
     * Work for the shutdown (e.g. stopping child processes): run by the hook before the process ends (without
     * {@link #install}: a shutdown hook of its own).
     */
    public static synchronized void onShutdown(Runnable task) {
        if (installed) {
            tasks.add(task);
        } else {
            Thread t = new Thread(task, "wmss-shutdown-task");
            Runtime.getRuntime().addShutdownHook(t);
            ownHooks.put(task, t);
        }
    }

    /** The task is no longer needed (a no-op while the process is shutting down: it runs). */
    public static synchronized void removeOnShutdown(Runnable task) {
        tasks.remove(task);
        Thread t = ownHooks.remove(task);
        if (t == null) return;
        try {
            Runtime.getRuntime().removeShutdownHook(t);
        } catch (IllegalStateException shuttingDown) {
            // the hook is running
        }
    }

    /** The end of main: the command's exit code. Ends the process (a signal's status wins if one came first). */
    public static void exit(int code) {
        if (status < 0 && !stopping) status = code;
        mainDone.countDown();
        System.out.flush();
        System.err.flush();
        System.exit(code); // during a signal's shutdown this waits until the hook ends the process
    }

    private static void hook() {
        stopping = true;
        if (cooperating.get() > 0) {
            try {
                if (!mainDone.await(GRACE_SECONDS, TimeUnit.SECONDS)) {
                    System.err.println("wmss: no clean stop within " + GRACE_SECONDS + " s: exiting");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (Runnable t : tasks) {
            try {
                t.run();
            } catch (RuntimeException e) {
                System.err.println("wmss: shutdown task failed: " + e);
            }
        }
        System.out.flush();
        System.err.flush();
        if (status >= 0) Posix.exitNow(status);
        // unknown status (an exit we did not ask for) or no _exit: the JVM ends as usual
    }

    /**
     * A part that stops on request at a safe point (the training loop): while it is open, a signal does not end the
     * process at once, it sets {@link Cooperation#requested()} and the process ends when main is done.
     */
    public static Cooperation cooperate() {
        return installed ? new Cooperation(null) : new Cooperation(new CountDownLatch(1));
    }

    public static final class Cooperation implements AutoCloseable {
        private final CountDownLatch ownHook; // without install(): this part's own hook waits on it
        private final Thread hook;
        private volatile boolean requested;

        private Cooperation(CountDownLatch ownHook) {
            this.ownHook = ownHook;
            if (ownHook == null) {
                cooperating.incrementAndGet();
                hook = null;
            } else {
                hook = new Thread(() -> {
                    requested = true;
                    try {
                        ownHook.await(GRACE_SECONDS, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }, "wmss-ctrl-c");
                Runtime.getRuntime().addShutdownHook(hook);
            }
        }

        /** Whether a stop was asked for (a signal, the launcher's death). */
        public boolean requested() {
            return requested || (ownHook == null && stopping);
        }

        @Override
        public void close() {
            if (ownHook == null) {
                cooperating.decrementAndGet();
                return;
            }
            ownHook.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running and now returns
            }
        }
    }
}
