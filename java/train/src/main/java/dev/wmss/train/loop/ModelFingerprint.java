package dev.wmss.train.loop;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The content hash of a model directory: SHA-256 over config.json and every *.safetensors file, each with its name
 * and every byte ({@link ContentHash}: hashed once per process). Weights replaced in place, even where the
 * header, the size and the first and last bytes stay the same, give another fingerprint.
 */
public final class ModelFingerprint {
    private ModelFingerprint() {}

    /** The fingerprint of dir (64 hex digits), or "none" for null. */
    public static String of(Path dir) {
        if (dir == null) return "none";
        try {
            List<Path> files = new ArrayList<>(List.of(dir.resolve("config.json")));
            try (Stream<Path> s = Files.list(dir)) {
                files.addAll(s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList());
            }
            return ContentHash.files(files);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the model in " + dir + ": " + e.getMessage(), e);
        }
    }
}
