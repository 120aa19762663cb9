package dev.wmss.train.method;

import com.google.gson.GsonBuilder;
import dev.wmss.train.loop.OutputDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Small helpers of the commands: the resolved configuration of a run, written once its inputs are known good. */
public final class Runs {
    private Runs() {}

    /** run.json (by rank 0 only when data parallel). */
    public static void writeConfig(Path out, Map<String, Object> resolved) {
        if (dev.wmss.train.loop.DataParallel.environmentRank() != 0) return;
        Path file = out.resolve("run.json");
        OutputDir.write(file, () -> {
            Files.createDirectories(out);
            Files.writeString(file, new GsonBuilder().setPrettyPrinting().create().toJson(resolved) + "\n");
        });
    }

    /** A JSON file (pretty-printed), its directory created if needed. */
    public static void writeJson(Path file, Object value) {
        OutputDir.write(file, () -> {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, new GsonBuilder().setPrettyPrinting().create().toJson(value) + "\n");
        });
    }

    /** An ordered map from alternating keys and values, for run.json. */
    public static Map<String, Object> fields(Object... keyValues) {
        Map<String, Object> m = new java.util.LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) m.put((String) keyValues[i], keyValues[i + 1]);
        return m;
    }

    /**
     * The tokenizer's files (tokenizer.json, tokenizer_config.json, ...) copied into a model directory, so that Hugging
     * Face loads the model and its tokenizer from it as is; nothing for the built-in byte tokenizer.
     */
    public static void copyTokenizerFiles(java.util.Map<String, Path> files, Path modelDir) {
        for (var f : files.entrySet()) {
            Path to = modelDir.resolve(f.getKey());
            if (f.getValue().toAbsolutePath().normalize().equals(to.toAbsolutePath().normalize())) continue;
            OutputDir.write(to, () -> Files.copy(f.getValue(), to, java.nio.file.StandardCopyOption.REPLACE_EXISTING));
        }
    }

    public static Path requireModel(Path dir, String what) {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(what + " " + dir + " is not a directory");
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new IllegalArgumentException(what + " " + dir + " is not a model directory (no config.json)");
        }
        return dir;
    }

    /** An output file's directory exists or can be created, and the file itself is not a directory. */
    public static Path requireOutputFile(Path file, String option) {
        if (Files.isDirectory(file)) throw new IllegalArgumentException(option + " " + file + " is a directory, not a file");
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) OutputDir.requireWritable(parent, option);
        return file;
    }
}
