package dev.wmss.train.loop;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;

/**
 * One writer per output: a command that writes --out holds an OS file lock on a lock file there for as long as it
 * runs (OUT/.wmss.lock for a directory, .NAME.wmss.lock beside a file output). A second process given the same --out
 * is refused, told which process holds it; the OS releases the lock when the holder ends however it ends (kill -9
 * included), so a dead run never leaves a stale lock: a lock file left by one means nothing, only the lock does. On a
 * normal end the lock file is deleted (while still locked, so no one can take the old file in between), and an output
 * directory that the command created and left empty goes too: a command that fails before writing leaves nothing.
 */
public final class OutputLock implements AutoCloseable {
    private final FileChannel channel;
    private final FileLock lock;
    private final Path file, createdDir;

    private OutputLock(FileChannel channel, FileLock lock, Path file, Path createdDir) {
        this.channel = channel;
        this.lock = lock;
        this.file = file;
        this.createdDir = createdDir;
    }

    /** The lock file of an output: inside it for a directory output, beside it for a file output. */
    public static Path fileOf(Path out, boolean directory) {
        Path abs = out.toAbsolutePath().normalize();
        return directory ? abs.resolve(".wmss.lock") : abs.resolveSibling("." + abs.getFileName() + ".wmss.lock");
    }

    /**
     * Takes the lock of out (its directory, or the directory of a file output, is created), or refuses: an
     * IllegalStateException naming the output and the holder.
     */
    public static OutputLock acquire(Path out, boolean directory, String option) {
        Path file = fileOf(out, directory);
        Path created = directory && !Files.exists(file.getParent()) ? file.getParent() : null;
        for (int attempt = 0; ; attempt++) {
            FileChannel ch = null;
            try {
                Files.createDirectories(file.getParent());
                ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
                Object opened = Files.readAttributes(file, BasicFileAttributes.class).fileKey(); // the file just opened
                FileLock l;
                try {
                    l = ch.tryLock();
                } catch (OverlappingFileLockException sameProcess) {
                    l = null;
                }
                if (l == null) {
                    String holder = holder(ch);
                    ch.close();
                    throw new IllegalStateException(option + " " + out + " is being written by another wmss-native process"
                            + (holder.isEmpty() ? "" : " (" + holder + ")") + ": wait for it to finish, or choose another "
                            + option + " (the lock is " + file + "; the system releases it when that process ends)");
                }
                // the holder before us deletes the file while it holds the lock: ours must still be the file there
                Object now = Files.readAttributes(file, BasicFileAttributes.class).fileKey();
                if (opened != null && !opened.equals(now) && attempt < 10) {
                    l.release();
                    ch.close();
                    continue;
                }
                ch.truncate(0);
                ch.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + ", since " + Instant.now() + "\n")
                        .getBytes(StandardCharsets.UTF_8)), 0);
                OutputLock taken = new OutputLock(ch, l, file, created);
                try { // checked while holding ours: of two nested starts at once, at least one sees the other
                    refuseNestedWriters(out, directory, file, option);
                } catch (RuntimeException nested) {
                    taken.close();
                    throw nested;
                }
                return taken;
            } catch (java.nio.file.NoSuchFileException gone) { // deleted between our open and our check: again
                close(ch);
                if (attempt >= 10) throw new UncheckedIOException("cannot lock " + option + " " + out + ": " + gone, gone);
            } catch (IOException e) {
                close(ch);
                throw new UncheckedIOException("cannot lock " + option + " " + out + " (" + file + "): " + OutputDir.reason(e), e);
            }
        }
    }

    /**
     * Outputs nest: a run writes its stages' directories inside its own, so another process may not write inside a
     * locked output (a stage's --restart would delete a live run's files) nor around one (a run over a live export).
     * Refuses when an enclosing directory of out, or an output inside it, is locked by another process.
     */
    private static void refuseNestedWriters(Path out, boolean directory, Path own, String option) {
        Path real = realPath(out.toAbsolutePath().normalize());
        for (Path a = real.getParent(); a != null; a = a.getParent()) {
            String holder = heldBy(a.resolve(".wmss.lock"));
            if (holder != null) {
                throw new IllegalStateException(option + " " + out + " is inside " + a + ", which another wmss-native"
                        + " process is writing" + (holder.isEmpty() ? "" : " (" + holder + ")") + ": wait for it to finish,"
                        + " or choose an " + option + " outside it");
            }
        }
        if (!directory || !Files.isDirectory(real)) return;
        try (var s = Files.walk(real, 6)) { // not following links: what is inside, as written
            for (Path f : s.filter(p -> p.getFileName().toString().endsWith(".wmss.lock")).toList()) {
                if (f.equals(own) || f.equals(real.resolve(".wmss.lock"))) continue;
                String holder = heldBy(f);
                if (holder != null) {
                    Path inner = f.getFileName().toString().equals(".wmss.lock") ? f.getParent() : f.resolveSibling(
                            f.getFileName().toString().replaceFirst("^\\.", "").replaceFirst("\\.wmss\\.lock$", ""));
                    throw new IllegalStateException(option + " " + out + " holds " + inner + ", which another wmss-native"
                            + " process is writing" + (holder.isEmpty() ? "" : " (" + holder + ")") + ": wait for it to"
                            + " finish, or choose another " + option);
                }
            }
        } catch (IOException | UncheckedIOException e) {
            // an unreadable subdirectory: the command itself will say what is wrong with its --out
        }
    }

    /** The path with its existing part's links resolved (the rest as given). */
    private static Path realPath(Path abs) {
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) existing = existing.getParent();
        if (existing == null) return abs;
        try {
            return existing.toRealPath().resolve(existing.relativize(abs)).normalize();
        } catch (IOException e) {
            return abs;
        }
    }

    /** The holder's note when another process (or another lock of this one) holds the lock file; null when none does. */
    static String heldBy(Path lockFile) {
        if (!Files.isRegularFile(lockFile)) return null;
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock l;
            try {
                l = ch.tryLock();
            } catch (OverlappingFileLockException sameProcess) {
                return holder(ch);
            }
            if (l == null) return holder(ch);
            l.release();
            return null;
        } catch (IOException e) {
            return null; // gone or unreadable: not a lock anyone holds through this file
        }
    }

    private static void close(FileChannel ch) {
        try {
            if (ch != null) ch.close();
        } catch (IOException ignored) {
            // the first failure is what matters
        }
    }

    private static String holder(FileChannel ch) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(200);
        ch.read(b, 0);
        return new String(b.array(), 0, b.position(), StandardCharsets.UTF_8).strip();
    }

    @Override
    public void close() {
        try {
            Files.deleteIfExists(file); // while locked: a process that opened it now finds it gone and tries again
            if (createdDir != null) {
                try (var s = Files.list(createdDir)) {
                    if (s.findAny().isEmpty()) Files.delete(createdDir); // the command wrote nothing: no trace
                }
            }
        } catch (IOException ignored) {
            // a lock file left behind means nothing (only the lock does)
        } finally {
            close(channel); // releases the lock
        }
    }
}
