package dev.wmss.train.loop;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * What a set of files held when it was written: each file's size and CRC-32C, by its path relative to a root. Written
 * beside what a later step relies on (a checkpoint's state.json, a finished stage's stage.json, a finished run's
 * finished.json) and checked before that step uses the files, so that a file damaged or replaced on disk is named
 * instead of trained on. CRC-32C detects accidental damage (flipped bytes, a truncated copy, a file of another run),
 * not deliberate forgery; it reads at several GB/s (the JDK's CRC32C is an intrinsic), so a checkpoint costs one extra
 * read of its files when written and one when resumed.
 */
public final class FileManifest {
    /** One file: its size in bytes and its CRC-32C in 8 hex digits. */
    public record Entry(long size, String crc32c) {}

    private final Map<String, Entry> files;

    private FileManifest(Map<String, Entry> files) {
        this.files = Collections.unmodifiableMap(new TreeMap<>(files));
    }

    /** Every regular file under root (recursively) that include accepts (given its path relative to root, with '/'). */
    public static FileManifest of(Path root, Predicate<String> include) {
        Map<String, Entry> m = new TreeMap<>();
        if (Files.isDirectory(root)) {
            try (Stream<Path> s = Files.walk(root)) {
                for (Path p : s.filter(Files::isRegularFile).toList()) {
                    String rel = relative(root, p);
                    if (include.test(rel)) m.put(rel, entry(p));
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + root + ": " + OutputDir.reason(e), e);
            }
        }
        return new FileManifest(m);
    }

    /** Every regular file under root. */
    public static FileManifest of(Path root) {
        return of(root, rel -> true);
    }

    public Map<String, Entry> files() {
        return files;
    }

    public boolean isEmpty() {
        return files.isEmpty();
    }

    /**
     * What differs between this manifest and the files under root now: "F is missing", "F has N bytes (M when
     * written)", "F changed since it was written (CRC-32C ...)", one line per file (empty when every file verifies).
     * Files under root that the manifest does not list are not looked at.
     */
    public List<String> problems(Path root) {
        List<String> out = new ArrayList<>();
        for (var e : files.entrySet()) {
            Path p = root.resolve(e.getKey());
            if (!Files.isRegularFile(p)) {
                out.add(p + " is missing");
                continue;
            }
            try {
                long size = Files.size(p);
                if (size != e.getValue().size()) {
                    out.add(p + " has " + size + " bytes (" + e.getValue().size() + " when it was written)");
                    continue;
                }
            } catch (IOException x) {
                out.add(p + " cannot be read: " + OutputDir.reason(x));
                continue;
            }
            String crc;
            try {
                crc = entry(p).crc32c();
            } catch (UncheckedIOException x) {
                out.add(x.getMessage());
                continue;
            }
            if (!crc.equals(e.getValue().crc32c())) {
                out.add(p + " changed since it was written (CRC-32C " + crc + ", " + e.getValue().crc32c() + " when written)");
            }
        }
        return out;
    }

    /** One value that changes when any listed file's size or checksum does (for "the inputs this stage read"). */
    public String digest() {
        CRC32C c = new CRC32C();
        for (var e : files.entrySet()) {
            c.update((e.getKey() + "\0" + e.getValue().size() + "\0" + e.getValue().crc32c() + "\n").getBytes(
                    java.nio.charset.StandardCharsets.UTF_8));
        }
        return String.format("%08x-%d", c.getValue(), files.size());
    }

    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        for (var e : files.entrySet()) {
            JsonObject f = new JsonObject();
            f.addProperty("size", e.getValue().size());
            f.addProperty("crc32c", e.getValue().crc32c());
            o.add(e.getKey(), f);
        }
        return o;
    }

    /** The manifest a JSON object holds (as {@link #toJson} writes it); null for null. */
    public static FileManifest fromJson(JsonElement e) {
        if (e == null || e.isJsonNull()) return null;
        if (!e.isJsonObject()) throw new IllegalStateException("a file list is not a JSON object");
        Map<String, Entry> m = new TreeMap<>();
        for (var f : e.getAsJsonObject().entrySet()) {
            JsonObject o = f.getValue().getAsJsonObject();
            m.put(f.getKey(), new Entry(o.get("size").getAsLong(), o.get("crc32c").getAsString()));
        }
        return new FileManifest(m);
    }

    private static final com.google.gson.Gson PRETTY = new com.google.gson.GsonBuilder().setPrettyPrinting().create();

    /**
     * A JSON record that vouches for other files, as text with its own CRC-32C as a last field "crc32c" (over the
     * pretty-printed object without it): a byte changed in the record itself is then detected too.
     */
    public static String seal(JsonObject body) {
        JsonObject o = body.deepCopy();
        o.remove("crc32c");
        String text = PRETTY.toJson(o);
        o.addProperty("crc32c", crc32c(text));
        return PRETTY.toJson(o);
    }

    /** Throws naming file when a record written by {@link #seal} no longer matches its CRC-32C (records without one pass). */
    public static void checkSeal(JsonObject o, Path file) {
        if (!o.has("crc32c")) return;
        JsonObject body = o.deepCopy();
        String want = body.remove("crc32c").getAsString();
        if (!crc32c(PRETTY.toJson(body)).equals(want)) {
            throw new IllegalStateException(file + " changed since it was written (its own CRC-32C does not match)");
        }
    }

    private static String crc32c(String text) {
        CRC32C c = new CRC32C();
        c.update(text.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        return String.format("%08x", c.getValue());
    }

    private static String relative(Path root, Path p) {
        return root.relativize(p).toString().replace(java.io.File.separatorChar, '/');
    }

    private static Entry entry(Path p) {
        CRC32C c = new CRC32C();
        long size = 0;
        try (FileChannel ch = FileChannel.open(p)) {
            ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
            int n;
            while ((n = ch.read(b.clear())) >= 0) {
                c.update(b.flip());
                size += n;
            }
        } catch (NoSuchFileException e) {
            throw new UncheckedIOException(p + " is missing", e);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + p + ": " + OutputDir.reason(e), e);
        }
        return new Entry(size, String.format("%08x", c.getValue()));
    }
}
