package dev.wmss.kernels.ffi;

import dev.wmss.kernels.NativeLibraryException;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * Finds the native libraries: a directory named by {@code -Dwmss.library.path} / {@code WMSS_LIBRARY_PATH}
 * (a local build), or the copies inside this jar, extracted once to
 * {@code <cache>/<version>-<flavor>-<platform>-<content hash>/} through a temporary directory and an atomic
 * rename, so concurrent JVMs never see a half-written library. The cache root is {@code -Dwmss.cache.dir},
 * {@code WMSS_CACHE_DIR}, or {@code $XDG_CACHE_HOME/wmss-native} ({@code ~/.cache/wmss-native}).
 */
public final class NativeLoader {
    private static final String PLATFORM = platform();
    private static final String RESOURCES = "/natives/" + PLATFORM + "/";
    private static volatile Path directory;

    private NativeLoader() {}

    /** Opens lib{@code name}.so for the lifetime of the JVM. */
    public static SymbolLookup lookup(String name) {
        Path lib = libraryDirectory().resolve("lib" + name + ".so");
        if (!Files.isRegularFile(lib)) {
            throw new NativeLibraryException("lib" + name + ".so is not in " + directory
                    + (name.equals("wmss_torch") ? " (libtorch was not found when the natives were built:"
                    + " install libtorch-dev and rebuild, or pass -Dwmss.cmake.args=-DTorch_DIR=...)" : ""));
        }
        OpenMpPolicy.apply(); // before libgomp loads with the first library
        try {
            return SymbolLookup.libraryLookup(lib, Arena.global());
        } catch (IllegalArgumentException e) {
            throw new NativeLibraryException("cannot load " + lib + ": " + e.getMessage()
                    + " (missing dependency? try: ldd " + lib + ")", e);
        }
    }

    /** The directory holding the libraries (extracting them on first use). */
    public static Path libraryDirectory() {
        Path d = directory;
        if (d == null) {
            synchronized (NativeLoader.class) {
                if ((d = directory) == null) directory = d = locate();
            }
        }
        return d;
    }

    private static Path locate() {
        String override = setting("wmss.library.path", "WMSS_LIBRARY_PATH");
        if (override != null) {
            Path p = Path.of(override);
            if (!Files.isDirectory(p)) {
                throw new NativeLibraryException("wmss.library.path / WMSS_LIBRARY_PATH = " + override
                        + " is not a directory");
            }
            return p.toAbsolutePath();
        }
        Properties manifest = new Properties();
        try (InputStream in = NativeLoader.class.getResourceAsStream(RESOURCES + "natives.properties")) {
            if (in == null) {
                throw new NativeLibraryException("no native libraries for " + PLATFORM + " in this jar ("
                        + RESOURCES + "natives.properties missing); set -Dwmss.library.path to a local build");
            }
            manifest.load(in);
            return extract(manifest);
        } catch (IOException e) {
            throw new NativeLibraryException("cannot extract the native libraries: " + e.getMessage(), e);
        }
    }

    private static Path extract(Properties manifest) throws IOException {
        List<String> files = List.of(manifest.getProperty("files", "").split(","));
        List<byte[]> contents = new ArrayList<>();
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (String f : files) {
            try (InputStream in = NativeLoader.class.getResourceAsStream(RESOURCES + f)) {
                if (in == null) throw new NativeLibraryException("natives.properties lists " + f + " but the jar lacks it");
                byte[] b = in.readAllBytes();
                sha.update(b);
                contents.add(b);
            }
        }
        String key = manifest.getProperty("version") + "-" + manifest.getProperty("flavor") + "-" + PLATFORM + "-"
                + HexFormat.of().formatHex(sha.digest()).substring(0, 12);
        Path root = cacheRoot();
        Path target = root.resolve(key);
        if (Files.isDirectory(target)) return target;
        Files.createDirectories(root);
        Path tmp = Files.createTempDirectory(root, ".extract-");
        try {
            for (int i = 0; i < files.size(); i++) Files.write(tmp.resolve(files.get(i)), contents.get(i));
            try {
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | AtomicMoveNotSupportedException e) {
                if (!Files.isDirectory(target)) throw e; // another JVM won the race: use its copy
            } catch (IOException e) {
                if (!Files.isDirectory(target)) throw e;
            }
        } finally {
            deleteTree(tmp);
        }
        return target;
    }

    private static Path cacheRoot() {
        String dir = setting("wmss.cache.dir", "WMSS_CACHE_DIR");
        if (dir != null) return Path.of(dir).toAbsolutePath();
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("wmss-native");
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(q);
        }
    }

    /** A NUL-terminated string returned by the native side ("" for NULL). */
    public static String cString(java.lang.foreign.MemorySegment s) {
        return s.equals(java.lang.foreign.MemorySegment.NULL) ? "" : s.reinterpret(Long.MAX_VALUE).getString(0);
    }

    static String setting(String property, String env) {
        String v = System.getProperty(property);
        if (v == null || v.isBlank()) v = System.getenv(env);
        return v == null || v.isBlank() ? null : v;
    }

    private static String platform() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        String o = os.contains("linux") ? "linux" : os.contains("mac") ? "macos" : os.contains("win") ? "windows" : os;
        String a = arch.equals("amd64") || arch.equals("x86_64") ? "x86_64" : arch.equals("aarch64") ? "aarch64" : arch;
        return o + "-" + a;
    }
}
