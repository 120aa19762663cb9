package dev.wmss.train.loop;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Memory a training run needs beyond the loaded weights (their gradients and AdamW's two moments, fp32: 12 bytes
 * per trained parameter), checked against what the machine (and its cgroup) has available, so that a model too
 * large to train stops with a sentence instead of the kernel's OOM killer.
 */
public final class MemoryBudget {
    private MemoryBudget() {}

    static void requireForTraining(long trainedParameters) {
        double need = 12.0 * trainedParameters, have = available();
        if (have >= 0 && need > have) {
            throw new IllegalStateException(String.format(Locale.ROOT, "training %,d parameters needs %.1f GiB more memory"
                    + " for gradients and AdamW state, but only %.1f GiB is available", trainedParameters, need / (1L << 30),
                    have / (1L << 30)));
        }
    }

    /**
     * A memory limit of one's own on a shared machine, in bytes, or -1 where none is set: -Dwmss.memory.limit.gib, else
     * WMSS_MEMORY_LIMIT_GIB, in GiB. A limit that is not a number > 0 (0, -1, NaN, Infinity) is refused, never read as
     * "no limit": unset it for none.
     */
    public static double limitBytes() {
        String property = System.getProperty("wmss.memory.limit.gib");
        String name = property != null ? "-Dwmss.memory.limit.gib" : "WMSS_MEMORY_LIMIT_GIB";
        String limit = property != null ? property : System.getenv("WMSS_MEMORY_LIMIT_GIB");
        if (limit == null || limit.isBlank()) return -1;
        double gib;
        try {
            gib = Double.parseDouble(limit.strip());
        } catch (NumberFormatException e) {
            gib = Double.NaN;
        }
        if (!(gib > 0) || Double.isInfinite(gib)) {
            throw new IllegalArgumentException(name + " must be a number of GiB > 0 (a memory limit of one's own; unset it"
                    + " for none), got " + limit);
        }
        return gib * (1L << 30);
    }

    /** Bytes available now (MemAvailable, bounded by a cgroup limit), or -1 if unknown. */
    public static double availableBytes() {
        return available();
    }

    /** Bytes available now (MemAvailable, bounded by a cgroup limit), or -1 if unknown. */
    static double available() {
        double avail = -1;
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemAvailable:")) avail = 1024.0 * Long.parseLong(line.replaceAll("\\D", ""));
            }
        } catch (IOException | RuntimeException ignored) {
            // not Linux: unknown
        }
        for (String[] f : new String[][]{{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"},
                {"/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"}}) {
            try {
                String limit = Files.readString(Path.of(f[0])).trim(), usage = Files.readString(Path.of(f[1])).trim();
                if (limit.equals("max")) continue;
                double free = Double.parseDouble(limit) - Double.parseDouble(usage);
                if (Double.parseDouble(limit) < 1e18) avail = avail < 0 ? free : Math.min(avail, free);
            } catch (IOException | RuntimeException ignored) {
                // no such cgroup file
            }
        }
        return avail;
    }
}
