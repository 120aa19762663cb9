package dev.wmss.kernels;

import dev.wmss.kernels.error.LabelOutOfRangeException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** 10,000 calls (successful and failing, each with its own per-call arena) leave resident memory flat. */
public class CeMixLeakTest {
    public static long rssKb() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("\\D", ""));
        }
        throw new IllegalStateException("no VmRSS");
    }

    private static void calls(int n) {
        for (int i = 0; i < n; i++) {
            try (Arena arena = Arena.ofConfined()) {
                Problem p = new Problem(arena, i % 2 == 0 ? DType.F32 : DType.BF16, 8, 257, 0, 0.5f, 1, i);
                p.call().run();
                Entropy.meanOverLabelled(p.strong, p.labels);
                if (i % 10 == 0) {
                    p.labels.setAtIndex(ValueLayout.JAVA_LONG, 0, 999);
                    assertThrows(LabelOutOfRangeException.class, () -> p.call().run());
                }
            }
        }
    }

    @Test
    void residentMemoryStaysFlat() throws IOException {
        calls(2_000); // warm-up: JIT, allocator pools
        System.gc();
        long before = rssKb();
        calls(10_000);
        System.gc();
        long after = rssKb();
        System.out.printf("CeMixLeakTest: RSS %d kB -> %d kB over 10,000 calls%n", before, after);
        // Each call allocates ~40 KiB of native memory: a leak would add ~400 MB.
        assertTrue(after - before < 24 * 1024, "RSS grew by " + (after - before) + " kB");
    }
}
