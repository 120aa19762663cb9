package dev.wmss.train;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/** The jar's entry point: compiled for Java 8, it tells an old java what is needed, and hands over on Java 25. */
class LauncherTest {
    private static String[] run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the launcher hangs");
        return new String[]{String.valueOf(p.exitValue()), out};
    }

    @Test
    void itIsAJava8ClassFile() throws IOException {
        try (InputStream in = Launcher.class.getResourceAsStream("Launcher.class")) {
            byte[] head = in.readNBytes(8);
            assertEquals(52, ((head[6] & 0xff) << 8) | (head[7] & 0xff), "class file major version 52 (Java 8)");
        }
        assertEquals(8, Launcher.feature("1.8"));
        assertEquals(17, Launcher.feature("17"));
        assertEquals(25, Launcher.feature("25"));
        assertEquals(0, Launcher.feature("?"));
    }

    @Test
    void anOlderJavaIsToldWhichVersionIsNeeded() throws Exception {
        Path old;
        try (Stream<Path> jdks = Files.list(Path.of("/usr/lib/jvm"))) {
            old = jdks.map(d -> d.resolve("bin/java")).filter(Files::isExecutable)
                    .filter(j -> !j.toString().contains("25")).findFirst().orElse(null);
        } catch (IOException e) {
            old = null;
        }
        Assumptions.assumeTrue(old != null, "no older JDK under /usr/lib/jvm");
        Path classes = Path.of(Launcher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        String[] r = run(List.of(old.toString(), "-cp", classes.toString(), "dev.wmss.train.Launcher", "info"));
        assertEquals("1", r[0], r[1]);
        assertTrue(r[1].contains("needs Java 25 or newer") && r[1].contains("./wmss.sh"), r[1]);
        assertFalse(r[1].contains("UnsupportedClassVersionError"), r[1]);
    }

    @Test
    void onJava25ItHandsOverToMain() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String[] r = run(List.of(java, "-cp", System.getProperty("java.class.path"), "dev.wmss.train.Launcher", "--version"));
        assertEquals("0", r[0], r[1]);
        assertTrue(r[1].contains("wmss-native"), r[1]);
    }
}
