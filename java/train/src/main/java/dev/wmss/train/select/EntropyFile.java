package dev.wmss.train.select;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** WD-DS entropies as JSONL: one {"index": i, "entropy": H} per example. */
public final class EntropyFile {
    private EntropyFile() {}

    public static void write(Path out, double[] h) {
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < h.length; i++) {
            JsonObject o = new JsonObject();
            o.addProperty("index", i);
            o.addProperty("entropy", h[i]);
            lines.add(o.toString());
        }
        try {
            if (out.getParent() != null) Files.createDirectories(out.getParent());
            Files.write(out, lines);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out + ": " + dev.wmss.train.loop.OutputDir.reason(e), e);
        }
    }

    /** The entropies by index; every index 0..n-1 exactly once, else an error naming file and line. */
    public static double[] read(Path file, String option) {
        List<String> all;
        try {
            all = Files.readAllLines(file);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(option + ": entropy file not found: " + file);
        } catch (IOException e) {
            throw new UncheckedIOException(option + ": cannot read " + file + ": " + dev.wmss.train.loop.OutputDir.reason(e), e);
        }
        int count = (int) all.stream().filter(l -> !l.isBlank()).count();
        double[] h = new double[count];
        boolean[] seen = new boolean[count];
        for (int n = 0; n < all.size(); n++) {
            if (all.get(n).isBlank()) continue; // line numbers count blank lines, as editors do
            int index;
            try {
                JsonObject o = JsonParser.parseString(all.get(n)).getAsJsonObject();
                index = o.get("index").getAsInt();
                if (index < 0 || index >= h.length || seen[index]) throw new IllegalArgumentException("index " + index
                        + " is out of range or repeated");
                h[index] = o.get("entropy").getAsDouble();
                seen[index] = true;
            } catch (RuntimeException e) {
                throw new IllegalArgumentException(file + ":" + (n + 1) + ": not an entropy line: " + e.getMessage());
            }
        }
        return h;
    }
}
