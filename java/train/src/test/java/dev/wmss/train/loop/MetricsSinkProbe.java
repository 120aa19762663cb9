package dev.wmss.train.loop;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.Map;

/** Drives {@link ConsoleMetrics} with its progress bar forced on, capturing stderr. */
public final class MetricsSinkProbe {
    private MetricsSinkProbe() {}

    public static String runWithBar(long total, int logEvery) {
        PrintStream old = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        System.setErr(new PrintStream(buf, true));
        try (ConsoleMetrics m = new ConsoleMetrics(logEvery, true)) {
            m.start("sft", 0, total);
            for (long s = 1; s <= total; s++) m.step(new MetricsSink.Step(s, total, 0, 1.0 / s, 1, 1e-3, 1, 1, Map.of()));
        } finally {
            System.setErr(old);
        }
        return buf.toString();
    }
}
