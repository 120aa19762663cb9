package dev.wmss.train.loop;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * metrics.jsonl: one JSON object per optimizer step. A resumed run keeps the lines up to its checkpoint's step and
 * rewrites what follows (saying which steps an earlier session had done and are lost); a new run starts afresh.
 */
public final class JsonlMetrics implements MetricsSink {
    private static final Gson GSON = new Gson();
    private final Path file;

    public JsonlMetrics(Path file) {
        this.file = file;
    }

    @Override
    public void start(String run, long start, long total) {
        Kept k = keepUpTo(file, start);
        if (k.damaged() > 0) {
            LoggerFactory.getLogger(JsonlMetrics.class).warn("{}: dropped {} damaged line(s) (a crash mid-write?)",
                    file, k.damaged());
        }
        if (k.lost() > 0) { // an earlier session got further than the checkpoint this one starts from
            LoggerFactory.getLogger("dev.wmss.train").warn("{}: steps {}..{} of an earlier session were lost (no"
                    + " checkpoint after step {}): training them again", run, start + 1, k.last(), start);
        }
    }

    /** What {@link #keepUpTo} dropped: lines of steps after start (the last such step), and damaged lines. */
    record Kept(long lost, long last, int damaged) {}

    /**
     * Makes file (a JSONL file of per-step objects with a "step" field) hold the lines of steps up to start only, for
     * a run that continues from step start (a new file when absent). Damaged lines are dropped.
     */
    static Kept keepUpTo(Path file, long start) {
        try {
            if (!Files.exists(file)) {
                Files.write(file, List.of(), StandardCharsets.UTF_8);
                return new Kept(0, start, 0);
            }
            List<String> lines = Files.readAllLines(file), keep = new java.util.ArrayList<>();
            int damaged = 0;
            long lost = 0, last = start;
            for (String l : lines) {
                Long step = stepOf(l);
                if (step == null) damaged += l.isBlank() ? 0 : 1;
                else if (step <= start) keep.add(l);
                else {
                    lost++;
                    last = Math.max(last, step);
                }
            }
            Files.write(file, keep, StandardCharsets.UTF_8);
            return new Kept(lost, last, damaged);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    /** The step of one metrics line, or null when the line is not a JSON object with a numeric "step". */
    private static Long stepOf(String line) {
        try {
            JsonElement e = JsonParser.parseString(line);
            if (!e.isJsonObject()) return null;
            JsonElement step = e.getAsJsonObject().get("step");
            return step != null && step.isJsonPrimitive() && step.getAsJsonPrimitive().isNumber() ? step.getAsLong() : null;
        } catch (RuntimeException malformed) {
            return null;
        }
    }

    @Override
    public void step(Step s) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("step", s.step());
        row.put("epoch", s.epoch());
        row.put("loss", s.loss());
        row.put("grad_norm", s.gradNorm());
        row.put("lr", s.lr());
        row.put("ms", s.ms());
        row.put("tok_s", s.tokPerSec());
        if (!Double.isNaN(s.mfu())) row.put("mfu", s.mfu());
        row.putAll(s.diagnostics());
        JsonObject o = GSON.toJsonTree(row).getAsJsonObject();
        try {
            Files.writeString(file, o + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() {}

    /** The JSON-object lines of a run's metrics.jsonl (empty when absent; a damaged line is skipped). */
    public static java.util.List<com.google.gson.JsonObject> read(Path runDir) throws java.io.IOException {
        Path f = runDir.resolve("metrics.jsonl");
        java.util.List<com.google.gson.JsonObject> out = new java.util.ArrayList<>();
        if (!java.nio.file.Files.isRegularFile(f)) return out;
        for (String l : java.nio.file.Files.readAllLines(f)) {
            if (l.isBlank()) continue;
            try {
                com.google.gson.JsonElement e = com.google.gson.JsonParser.parseString(l);
                if (e.isJsonObject()) out.add(e.getAsJsonObject());
            } catch (com.google.gson.JsonParseException e) {
                // a line cut by a crash: the rest of the curve is still worth plotting
            }
        }
        return out;
    }
}
