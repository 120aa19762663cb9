package dev.wmss.train.loop;

import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;

/**
 * The console: one log line every logEvery steps (and at the last), llm.c style, through SLF4J; on a terminal, a
 * progress bar (me.tongfei:progressbar, on stderr) in between. Nothing but the log lines when output is not a
 * terminal (CI, files, pipes). The bar is given its own console consumer of a fixed width: the library's default
 * one opens a JLine terminal, which sets SIGINT back to the system's default, so that Ctrl-C on a terminal killed
 * the process without the checkpoint the training loop saves on SIGINT.
 */
public final class ConsoleMetrics implements MetricsSink {
    private static final Logger LOG = LoggerFactory.getLogger("dev.wmss.train");
    private final int logEvery;
    private final boolean bar;
    private String run;
    private ProgressBar progress;

    public ConsoleMetrics(int logEvery) {
        this(logEvery, terminal());
    }

    /** Whether output goes to a terminal (progress bars are drawn only there, and never under CI). */
    static boolean terminal() {
        return System.console() != null && System.console().isTerminal() && System.getenv("CI") == null;
    }

    ConsoleMetrics(int logEvery, boolean bar) {
        this.logEvery = logEvery;
        this.bar = bar;
    }

    @Override
    public void start(String run, long start, long total) {
        this.run = run;
        if (start > 0) LOG.info("{}: resuming at step {}/{}", run, start, total);
        if (bar) {
            progress = new ProgressBarBuilder().setTaskName(run).setInitialMax(total).startsFrom(start, java.time.Duration.ZERO)
                    .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(500).continuousUpdate()
                    .setConsumer(new ConsoleProgressBarConsumer(System.err, width())).build();
        }
    }

    /** The terminal's width as the shell exports it (COLUMNS), else 80; a wider bar would wrap at every redraw. */
    private static int width() {
        try {
            int c = Integer.parseInt(System.getenv().getOrDefault("COLUMNS", "80").trim());
            return c >= 20 ? c - 1 : 80;
        } catch (NumberFormatException e) {
            return 80;
        }
    }

    @Override
    public void step(Step s) {
        if (progress != null) {
            progress.stepTo(s.step());
            progress.setExtraMessage(String.format(Locale.ROOT, "loss %.4f", s.loss()));
        }
        if (s.step() % logEvery == 0 || s.step() == s.total()) {
            if (progress != null) System.err.print("\r\033[K"); // the line goes above the bar, which redraws below
            LOG.info(String.format(Locale.ROOT, "%s step %d/%d | loss %.4f | grad norm %.3f | lr %.2e | %.0f ms | %.0f tok/s%s",
                    run, s.step(), s.total(), s.loss(), s.gradNorm(), s.lr(), s.ms(), s.tokPerSec(),
                    Double.isNaN(s.mfu()) ? "" : String.format(Locale.ROOT, " | MFU %.1f%%", 100 * s.mfu())));
        }
    }

    @Override
    public void close() {
        if (progress != null) progress.close();
        progress = null;
    }
}
