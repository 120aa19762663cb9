package dev.wmss.train.loop;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Progress of a long loop that is not training (WD-DS entropies, evaluation): on a terminal a one-line bar on stderr,
 * redrawn in place at most twice a second; otherwise (CI, files, pipes) a log line every {@link #LOG_SECONDS}
 * seconds, so a long stage is never silent. Drawn by hand (no terminal library: nothing touches the terminal's
 * modes or signal handlers). {@link #NONE} does nothing.
 */
public final class Progress implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger("dev.wmss.train");
    /** Seconds between log lines without a terminal (-Dwmss.progress.seconds). */
    static final long LOG_SECONDS = Long.getLong("wmss.progress.seconds", 30);

    public static final Progress NONE = new Progress(null, 0, false, null, 0, null);

    private final String task;
    private final long total;
    private final boolean bar;
    private final PrintStream err;
    private final long logNanos;
    private final Consumer<String> log;
    private final long t0 = System.nanoTime();
    private long done, lastDraw, lastLog;
    private boolean drawn;

    Progress(String task, long total, boolean bar, PrintStream err, long logSeconds, Consumer<String> log) {
        this.task = task;
        this.total = total;
        this.bar = bar;
        this.err = err;
        this.logNanos = logSeconds * 1_000_000_000L;
        this.log = log;
        this.lastLog = t0;
    }

    /** A progress of total units (examples, prompts) named task; a bar on a terminal, log lines otherwise. */
    public static Progress start(String task, long total) {
        return new Progress(task, total, ConsoleMetrics.terminal(), System.err, LOG_SECONDS, LOG::info);
    }

    /** n more units are done. */
    public void advance(long n) {
        if (task == null) return;
        done = Math.min(total, done + n);
        long now = System.nanoTime();
        if (bar) {
            if (now - lastDraw >= 500_000_000L || done == total) {
                lastDraw = now;
                draw(now);
            }
        } else if (now - lastLog >= logNanos && done < total) {
            lastLog = now;
            log.accept(line(now));
        }
    }

    /** The state in words: "task 120/1319 (9%), 14 s, about 2 min left". */
    String line(long now) {
        double s = (now - t0) / 1e9;
        String left = done == 0 ? "" : ", about " + duration(s * (total - done) / done) + " left";
        return String.format(Locale.ROOT, "%s %d/%d (%.0f%%), %s%s", task, done, total,
                total == 0 ? 100.0 : 100.0 * done / total, duration(s), done < total ? left : "");
    }

    private void draw(long now) {
        int width = 30, filled = total == 0 ? width : (int) (width * done / total);
        err.print("\r\033[K[" + "=".repeat(filled) + " ".repeat(width - filled) + "] " + line(now));
        err.flush();
        drawn = true;
    }

    static String duration(double s) {
        if (s < 90) return String.format(Locale.ROOT, "%.0f s", s);
        if (s < 5400) return String.format(Locale.ROOT, "%.0f min", s / 60);
        return String.format(Locale.ROOT, "%.1f h", s / 3600);
    }

    /** Clears the bar (the stage's own log line follows). */
    @Override
    public void close() {
        if (task == null) return;
        if (drawn) {
            err.print("\r\033[K");
            err.flush();
        }
        drawn = false;
    }
}
