package dev.wmss.train;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The packages of java/ (wmss-kernels, wmss-runtime and the training application) form layers: no package depends on
 * itself through others (no circle) and none on a package that contains it (no upward arrow: the commands in cli,
 * the method in method, the experiment above both; the kernels above their ffi bindings and their error types).
 * Read from the sources (imports and fully qualified names), as jdeps -verbose:package shows it for the classes.
 */
class PackageGraphTest {
    private static final Pattern PACKAGE = Pattern.compile("^package (dev\\.wmss[\\w.]*);", Pattern.MULTILINE);
    private static final Pattern REFERENCE = Pattern.compile("\\b(dev\\.wmss(?:\\.[a-z]\\w*)*)\\.[A-Z]");
    /** The main sources of every module in java/, seen from java/train (the tests' working directory). */
    private static final List<Path> SOURCES = List.of(Path.of("src/main/java"), Path.of("../runtime/src/main/java"),
            Path.of("../kernels/src/main/java"));

    static Map<String, Set<String>> graph(List<Path> roots) throws IOException {
        Map<String, Set<String>> g = new TreeMap<>();
        List<Path> files = new ArrayList<>();
        for (Path sources : roots) {
            try (Stream<Path> s = Files.walk(sources)) {
                s.filter(p -> p.toString().endsWith(".java")).forEach(files::add);
            }
        }
        for (Path f : files) {
            String text = Files.readString(f);
            Matcher p = PACKAGE.matcher(text);
            if (!p.find()) continue;
            Set<String> to = g.computeIfAbsent(p.group(1), k -> new TreeSet<>());
            Matcher r = REFERENCE.matcher(text);
            while (r.find()) if (!r.group(1).equals(p.group(1))) to.add(r.group(1));
        }
        return g;
    }

    /** The packages on a circle through from, or an empty list. */
    static List<String> circle(Map<String, Set<String>> g, String from) {
        List<String> path = new ArrayList<>();
        return walk(g, from, from, path, new HashSet<>()) ? path : List.of();
    }

    private static boolean walk(Map<String, Set<String>> g, String start, String at, List<String> path, Set<String> seen) {
        path.add(at);
        for (String next : g.getOrDefault(at, Set.of())) {
            if (next.equals(start)) return true;
            if (seen.add(next) && walk(g, start, next, path, seen)) return true;
        }
        path.removeLast();
        return false;
    }

    @Test
    void noCircleAndNoUpwardArrow() throws IOException {
        Map<String, Set<String>> g = graph(SOURCES);
        for (String p : List.of("dev.wmss.train.cli", "dev.wmss.train.method", "dev.wmss.runtime", "dev.wmss.kernels",
                "dev.wmss.kernels.ffi", "dev.wmss.kernels.error")) {
            assertTrue(g.containsKey(p), p + " not among " + g.keySet());
        }
        for (var e : g.entrySet()) {
            assertEquals(List.of(), circle(g, e.getKey()), "a circle through " + e.getKey());
            for (String to : e.getValue()) {
                assertFalse(e.getKey().startsWith(to + "."), e.getKey() + " -> " + to + " points up to its own parent");
            }
        }
        assertFalse(g.get("dev.wmss.train.method").contains("dev.wmss.train.cli"), "the method knows no command");
        assertFalse(g.get("dev.wmss.train.method").contains("dev.wmss.train.experiment"));
        assertTrue(g.get("dev.wmss.kernels.error").isEmpty(), "the error types depend on nothing else of ours");
        for (String p : g.keySet()) {
            if (p.startsWith("dev.wmss.kernels")) {
                assertTrue(g.get(p).stream().allMatch(q -> q.startsWith("dev.wmss.kernels")), p + " (wmss-kernels) uses " + g.get(p));
            }
        }
    }

    @Test
    void theCheckSeesACircle() {
        Map<String, Set<String>> g = Map.of("a", Set.of("b"), "b", Set.of("c"), "c", Set.of("a"), "d", Set.of("a"));
        assertEquals(List.of("a", "b", "c"), circle(g, "a"));
        assertEquals(List.of(), circle(g, "d"));
    }
}
