package dev.wmss.train.loop;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;

/**
 * A fingerprint of a model directory that reads almost no weights: SHA-256 over config.json and, for every
 * *.safetensors file, its JSON header (names, dtypes, shapes and offsets of all tensors), its size, and its first
 * and last 64 KiB of data. Checkpoints of one architecture share headers and sizes; their weights differ from the
 * first bytes on, so another model of the same shape is told apart without hashing gigabytes.
 */
public final class ModelFingerprint {
    private ModelFingerprint() {}

    /** The fingerprint of dir, or "none" for null. */
    public static String of(Path dir) {
        if (dir == null) return "none";
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            sha.update(Files.readAllBytes(dir.resolve("config.json")));
            List<Path> files;
            try (Stream<Path> s = Files.list(dir)) {
                files = s.filter(p -> p.getFileName().toString().endsWith(".safetensors")).sorted().toList();
            }
            for (Path f : files) {
                sha.update(f.getFileName().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                sha.update(header(f));
                sha.update(ByteBuffer.allocate(8).putLong(Files.size(f)).array());
                sha.update(ends(f));
            }
            return HexFormat.of().formatHex(sha.digest()).substring(0, 16);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the model in " + dir + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The first and last 64 KiB of a file (the whole file when smaller). */
    private static byte[] ends(Path f) throws IOException {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(f)) {
            long size = ch.size();
            int n = (int) Math.min(size, 65536);
            ByteBuffer b = ByteBuffer.allocate(2 * n);
            ch.read(b.limit(n), 0);
            ch.read(b.limit(2 * n), size - n);
            return b.array();
        }
    }

    /** The 8-byte length and the JSON header of a safetensors file (at most 100 MB, as the format allows). */
    private static byte[] header(Path f) throws IOException {
        try (InputStream in = Files.newInputStream(f)) {
            byte[] len = in.readNBytes(8);
            if (len.length < 8) return len;
            long n = ByteBuffer.wrap(len).order(ByteOrder.LITTLE_ENDIAN).getLong();
            return n < 0 || n > 100_000_000 ? len : in.readNBytes((int) n);
        }
    }
}
