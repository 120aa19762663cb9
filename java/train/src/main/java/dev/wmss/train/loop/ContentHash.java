package dev.wmss.train.loop;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * SHA-256 of what a run reads (data files, tokenizer files, model weights), by content: a file changed under the
 * same name and size is another input. Each file is read once per process (keyed by its path, size, modification
 * time and file key), so the stages of one command that name the same model do not hash it again.
 */
public final class ContentHash {
    private static final Map<String, String> SEEN = new ConcurrentHashMap<>();

    private ContentHash() {}

    /** The SHA-256 (64 hex digits) of one file's bytes. */
    public static String file(Path f) {
        try {
            BasicFileAttributes a = Files.readAttributes(f, BasicFileAttributes.class);
            String key = f.toAbsolutePath().normalize() + "|" + a.size() + "|"
                    + a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS) + "|" + a.fileKey();
            String known = SEEN.get(key);
            if (known != null) return known;
            MessageDigest sha = sha256();
            try (FileChannel ch = FileChannel.open(f)) {
                ByteBuffer b = ByteBuffer.allocateDirect(1 << 20);
                while (ch.read(b.clear()) >= 0) sha.update(b.flip());
            }
            String hex = HexFormat.of().formatHex(sha.digest());
            SEEN.put(key, hex);
            return hex;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + f + ": " + e.getMessage(), e);
        }
    }

    /** The SHA-256 over files in the given order: each one's name and the hash of its bytes. */
    public static String files(List<Path> files) {
        MessageDigest sha = sha256();
        for (Path f : files) {
            sha.update(f.getFileName().toString().getBytes(StandardCharsets.UTF_8));
            sha.update((byte) 0);
            sha.update(file(f).getBytes(StandardCharsets.US_ASCII));
        }
        return HexFormat.of().formatHex(sha.digest());
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
