package dev.wmss.train.loop;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** metrics.jsonl (one object per step) plus the one-line log and, on a terminal, a progress bar. */
final class Metrics {
    private static final Gson GSON = new Gson();
    private final Path file;
    private final boolean tty = System.console() != null && System.console().isTerminal() && System.getenv("CI") == null;

    Metrics(Path file) {
        this.file = file;
    }

    /** Keeps the lines up to and including step (a resumed run rewrites what follows). */
    void truncateAfter(long step) {
        if (!Files.exists(file)) return;
        try {
            List<String> keep = Files.readAllLines(file).stream()
                    .filter(l -> !l.isBlank() && JsonParser.parseString(l).getAsJsonObject().get("step").getAsLong() <= step)
                    .toList();
            Files.write(file, keep, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    void record(Map<String, Object> values) {
        JsonObject o = GSON.toJsonTree(values).getAsJsonObject();
        try {
            Files.writeString(file, o + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    void log(String mode, long step, long total, double loss, double gnorm, double lr, double ms, double tokPerSec) {
        if (tty) System.out.print("\r" + " ".repeat(100) + "\r");
        System.out.printf(Locale.ROOT, "%s step %d/%d | loss %.4f | grad norm %.3f | lr %.2e | %.0f ms | %.0f tok/s%n",
                mode, step, total, loss, gnorm, lr, ms, tokPerSec);
    }

    void progress(String mode, long step, long total, double loss) {
        if (!tty) return;
        int width = 30, done = (int) (width * step / Math.max(1, total));
        System.out.printf(Locale.ROOT, "\r%s [%s%s] %d/%d loss %.4f", mode, "#".repeat(done), ".".repeat(width - done),
                step, total, loss);
        System.out.flush();
    }

    void end() {
        if (tty) System.out.println();
    }
}
