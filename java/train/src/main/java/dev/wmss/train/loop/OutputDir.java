package dev.wmss.train.loop;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Output directories: created if needed and probed for writing, failing with the operating system's reason. */
public final class OutputDir {
    private OutputDir() {}

    /** Creates dir (and parents) and checks a file can be written there; the error names option, path and reason. */
    public static Path requireWritable(Path dir, String option) {
        if (Files.exists(dir) && !Files.isDirectory(dir)) {
            throw new IllegalArgumentException(option + " " + dir + " is a file, not a directory");
        }
        try {
            Files.createDirectories(dir);
            Path probe = Files.createTempFile(dir, ".write-test", "");
            Files.delete(probe);
        } catch (IOException e) {
            throw new IllegalArgumentException(option + " " + dir + " cannot be written: " + reason(e), e);
        }
        return dir;
    }

    /** The path as the file system names it: real where it exists (symbolic links, "." and ".." resolved). */
    public static Path canonical(Path p) {
        Path abs = p.toAbsolutePath().normalize();
        try {
            return Files.exists(abs) ? abs.toRealPath() : abs;
        } catch (IOException e) {
            return abs;
        }
    }

    /** Whether inner is dir or lies inside it (after {@link #canonical}). */
    public static boolean contains(Path dir, Path inner) {
        return canonical(inner).startsWith(canonical(dir));
    }

    /** The operating system's reason for a failed file operation, e.g. "Permission denied" or "Not a directory". */
    public static String reason(IOException e) {
        if (e instanceof AccessDeniedException a) {
            return "permission denied" + (a.getFile() != null ? " (" + a.getFile() + ")" : "");
        }
        if (e instanceof FileAlreadyExistsException f) {
            return f.getFile() + " exists and is not a directory";
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getReason() + (f.getFile() != null ? " (" + f.getFile() + ")" : "");
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /** Runs an I/O action that writes under a command's output, turning failures into a message with the reason. */
    public static void write(Path target, IoAction action) {
        try {
            action.run();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + target + ": " + reason(e), e);
        }
    }

    /** A JSON file (pretty-printed), its directory created if needed. */
    public static void writeJson(Path file, Object value) {
        write(file, () -> {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, new com.google.gson.GsonBuilder().setPrettyPrinting().create().toJson(value) + "\n");
        });
    }

    /** Deletes a file if it is there, or an error that names it with the reason. */
    public static void delete(Path file) {
        write(file, () -> Files.deleteIfExists(file));
    }

    /** A text file's contents, or an error that names it with the reason. */
    public static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + reason(e), e);
        }
    }

    /**
     * Files copied into a directory under the names given (a model's tokenizer files beside its weights, so that
     * Hugging Face loads both from it as is); a file that is already there is left alone.
     */
    public static void copyInto(java.util.Map<String, Path> files, Path dir) {
        for (var f : files.entrySet()) {
            Path to = dir.resolve(f.getKey());
            if (f.getValue().toAbsolutePath().normalize().equals(to.toAbsolutePath().normalize())) continue;
            write(to, () -> Files.copy(f.getValue(), to, java.nio.file.StandardCopyOption.REPLACE_EXISTING));
        }
    }

    public interface IoAction {
        void run() throws IOException;
    }
}
