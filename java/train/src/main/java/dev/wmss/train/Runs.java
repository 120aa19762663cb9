package dev.wmss.train;

import com.google.gson.GsonBuilder;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Small helpers of the commands: the resolved configuration of a run, written next to its outputs. */
final class Runs {
    private Runs() {}

    static void writeConfig(Path out, Map<String, Object> resolved) {
        try {
            Files.createDirectories(out);
            Files.writeString(out.resolve("run.json"), new GsonBuilder().setPrettyPrinting().create().toJson(resolved) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + out.resolve("run.json"), e);
        }
    }

    static Path requireModel(Path dir, String what) {
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new IllegalArgumentException(what + " " + dir + " is not a model directory (no config.json)");
        }
        return dir;
    }
}
