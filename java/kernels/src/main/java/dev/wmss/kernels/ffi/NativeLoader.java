package dev.wmss.kernels.ffi;

import dev.wmss.kernels.error.NativeLibraryException;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.net.URL;
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
 * (a local build), or a flavour of them on the class path: the wmss-natives jars put each under
 * {@code natives/<platform>/<flavour>/} with a {@code natives.properties} that lists them (classifier
 * {@code linux-x86_64}: flavour cpu; {@code linux-x86_64-cuda}: flavour cuda). With both present the CUDA flavour is
 * taken where CUDA can run (the driver loads and sees a device) and the backend is not forced to the CPU; else the
 * CPU one. {@code -Dwmss.flavour=cpu|cuda} (or {@code WMSS_FLAVOUR}) picks one. The chosen flavour is extracted once
 * to {@code <cache>/<version>-<flavour>-<platform>-<content hash>/} through a temporary directory and an atomic
 * rename, so concurrent JVMs never see a half-written library. The cache root is {@code -Dwmss.cache.dir},
 * {@code WMSS_CACHE_DIR}, or {@code $XDG_CACHE_HOME/wmss-native} ({@code ~/.cache/wmss-native}).
 */
public final class NativeLoader {
    private static final String PLATFORM = platform();
    /** The flavours a wmss-natives jar can carry, in order of preference. */
    static final List<String> FLAVOURS = List.of("cuda", "cpu");
    private static volatile Path directory;
    private static volatile String flavour;

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

    /** The flavour in use: "cpu" or "cuda" from a wmss-natives jar, "local" for wmss.library.path. */
    public static String flavour() {
        libraryDirectory();
        return flavour;
    }

    private static Path locate() {
        String override = setting("wmss.library.path", "WMSS_LIBRARY_PATH");
        if (override != null) {
            Path p = Path.of(override);
            if (!Files.isDirectory(p)) {
                throw new NativeLibraryException("wmss.library.path / WMSS_LIBRARY_PATH = " + override
                        + " is not a directory");
            }
            flavour = "local";
            return p.toAbsolutePath();
        }
        List<String> present = new ArrayList<>();
        for (String f : FLAVOURS) if (resource(f, "natives.properties") != null) present.add(f);
        String chosen = choose(present, setting("wmss.flavour", "WMSS_FLAVOUR"),
                setting("wmss.backend", "WMSS_BACKEND"), NativeLoader::cudaRuns);
        Properties manifest = new Properties();
        try (InputStream in = resource(chosen, "natives.properties").openStream()) {
            manifest.load(in);
            flavour = chosen;
            return extract(chosen, manifest);
        } catch (IOException e) {
            throw new NativeLibraryException("cannot extract the native libraries: " + e.getMessage(), e);
        }
    }

    /**
     * The flavour to load among those present: the forced one (it must be present), the only one, or CUDA where
     * it can run unless the backend is forced to the CPU.
     */
    static String choose(List<String> present, String forced, String backend, java.util.function.BooleanSupplier cudaRuns) {
        if (present.isEmpty()) {
            boolean modules = NativeLoader.class.getModule().isNamed();
            throw new NativeLibraryException("no native libraries for " + PLATFORM + " on the "
                    + (modules ? "module path (this module, dev.wmss.kernels, is a named module)" : "class path") + ": add"
                    + " dev.wmss:wmss-natives with classifier " + PLATFORM + " (or " + PLATFORM + "-cuda)"
                    + (modules ? ", on the class path or as a module (--add-modules dev.wmss.natives.cpu or"
                    + " dev.wmss.natives.cuda)" : "") + ", or set -Dwmss.library.path to a local build");
        }
        if (forced != null) {
            String f = forced.trim().toLowerCase(Locale.ROOT);
            if (!present.contains(f)) {
                throw new NativeLibraryException("wmss.flavour / WMSS_FLAVOUR = " + forced + " but the class path has"
                        + " the natives of " + present + " only");
            }
            return f;
        }
        if (present.size() == 1) return present.get(0);
        boolean cpuForced = backend != null && backend.trim().equalsIgnoreCase("cpu");
        return present.contains("cuda") && !cpuForced && cudaRuns.getAsBoolean() ? "cuda" : "cpu";
    }

    /** Whether the CUDA driver loads and sees a device (libcuda's cuInit and cuDeviceGetCount; never throws). */
    static boolean cudaRuns() {
        try {
            SymbolLookup cuda = SymbolLookup.libraryLookup("libcuda.so.1", Arena.global());
            Linker linker = Linker.nativeLinker();
            MethodHandle init = linker.downcallHandle(cuda.findOrThrow("cuInit"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            MethodHandle count = linker.downcallHandle(cuda.findOrThrow("cuDeviceGetCount"),
                    FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));
            if ((int) init.invokeExact(0) != 0) return false;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment n = arena.allocate(ValueLayout.JAVA_INT);
                return (int) count.invokeExact(n) == 0 && n.get(ValueLayout.JAVA_INT, 0) > 0;
            }
        } catch (Throwable t) { // no driver (IllegalArgumentException), a symbol missing, anything else: no CUDA
            return false;
        }
    }

    private static URL resource(String flavour, String file) {
        ClassLoader cl = NativeLoader.class.getClassLoader();
        if (cl == null) cl = ClassLoader.getSystemClassLoader();
        return cl.getResource("natives/" + PLATFORM + "/" + flavour + "/" + file);
    }

    private static Path extract(String flavour, Properties manifest) throws IOException {
        List<String> files = List.of(manifest.getProperty("files", "").split(","));
        List<byte[]> contents = new ArrayList<>();
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        for (String f : files) {
            URL url = resource(flavour, f);
            if (url == null) throw new NativeLibraryException("natives.properties lists " + f + " but the jar lacks it");
            try (InputStream in = url.openStream()) {
                byte[] b = in.readAllBytes();
                sha.update(b);
                contents.add(b);
            }
        }
        String key = manifest.getProperty("version") + "-" + flavour + "-" + PLATFORM + "-"
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
