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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * metrics.jsonl: one JSON object per optimizer step. A resumed run keeps the lines up to its checkpoint's step and
 * rewrites what follows; a new run starts the file afresh.
 */
public final class JsonlMetrics implements MetricsSink {
    private static final Gson GSON = new Gson();
    private final Path file;

    public JsonlMetrics(Path file) {
        this.file = file;
    }

    @Override
    public void start(String run, long start, long total) {
        try {
            if (start == 0 || !Files.exists(file)) {
                Files.write(file, List.of(), StandardCharsets.UTF_8);
                return;
            }
            List<String> keep = Files.readAllLines(file).stream()
                    .filter(l -> !l.isBlank() && JsonParser.parseString(l).getAsJsonObject().get("step").getAsLong() <= start)
                    .toList();
            Files.write(file, keep, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
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
}
