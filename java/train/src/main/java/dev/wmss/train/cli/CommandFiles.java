package dev.wmss.train.cli;

import com.google.gson.GsonBuilder;
import dev.wmss.train.loop.DataParallel;
import dev.wmss.train.loop.OutputDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/** The files the commands check and write: model directories, output files, the run.json of sft and wmss. */
final class CommandFiles {
    private CommandFiles() {}

    /** run.json (by rank 0 only when data parallel): the resolved configuration, once its inputs are known good. */
    static void writeRunJson(Path out, Map<String, Object> resolved) {
        if (DataParallel.environmentRank() != 0) return;
        Path file = out.resolve("run.json");
        OutputDir.write(file, () -> {
            Files.createDirectories(out);
            Files.writeString(file, new GsonBuilder().setPrettyPrinting().create().toJson(resolved) + "\n");
        });
    }

    /** An ordered map from alternating keys and values, for run.json. */
    static Map<String, Object> fields(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) m.put((String) keyValues[i], keyValues[i + 1]);
        return m;
    }

    static Path requireModel(Path dir, String what) {
        if (!Files.isDirectory(dir)) throw new IllegalArgumentException(what + " " + dir + " is not a directory");
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            throw new IllegalArgumentException(what + " " + dir + " is not a model directory (no config.json)");
        }
        return dir;
    }

    /**
     * Refuses an output that is one of the command's inputs (it would be overwritten while, or instead of, being read);
     * inputs come as option name, path pairs (null paths skipped).
     */
    static void requireNotAnInput(Path out, String outOption, Object... optionAndPath) {
        for (int i = 0; i < optionAndPath.length; i += 2) {
            Object p = optionAndPath[i + 1];
            if (p == null) continue;
            Path in = p instanceof Path path ? path : Path.of(p.toString());
            if (OutputDir.canonical(out).equals(OutputDir.canonical(in))) {
                throw new IllegalArgumentException(outOption + " " + out + " is the " + optionAndPath[i] + " it reads: choose"
                        + " another " + outOption);
            }
        }
    }

    /** An output file's directory exists or can be created, and the file itself is not a directory. */
    static Path requireOutputFile(Path file, String option) {
        if (Files.isDirectory(file)) throw new IllegalArgumentException(option + " " + file + " is a directory, not a file");
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) OutputDir.requireWritable(parent, option);
        return file;
    }
}
