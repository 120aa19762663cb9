package dev.wmss.train.cli;

import dev.wmss.kernels.Backend;
import dev.wmss.train.loop.TrainerTest;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * A full disk during a save (an audit: the optimizer's save aborted the JVM, exit 134, when libtorch's archive writer
 * threw from its destructor). `sft` runs in a small tmpfs (a mount namespace of its own: unshare -rm; skipped where
 * the system allows none) sized to fill up at points across the second checkpoint and the final save: weights,
 * optimizer state, state.json, the final model. Each time the command ends with exit 1 and an error naming the
 * file and the disk, never an abort; and the run directory as the full disk left it resumes, on a disk with room,
 * to the same final weights as an uninterrupted run, bit for bit.
 */
class DiskFullTest {
    static boolean tmpfsAllowed(Path tmp) throws Exception {
        Path mnt = Files.createDirectories(tmp.resolve("probe"));
        Process p = new ProcessBuilder("unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs '" + mnt + "'")
                .redirectErrorStream(true).start();
        return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    }

    static long bytesUnder(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            long n = 0;
            for (Path p : s.filter(Files::isRegularFile).toList()) n += (Files.size(p) + 4095) / 4096 * 4096; // tmpfs pages
            return n;
        }
    }

    static String[] sft(Path m0, Path data, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("sft", "--model", m0.toString(), "--data", data.toString(), "--out",
                out.toString(), "--batch", "8", "--epochs", "3", "--lr", "3e-3", "--max-len", "96", "--log-every", "1",
                "--checkpoint-every", "3", "--seed", "4"));
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void aFullDiskAtAnySaveIsAnErrorAndTheRunResumesBitExact(@TempDir Path tmp) throws Exception {
        Assumptions.assumeTrue(tmpfsAllowed(tmp), "no mount namespace with tmpfs here (unshare -rm)");
        Path m0 = TrainerTest.init(tmp.resolve("m0"), 1);
        StringBuilder lines = new StringBuilder();
        for (int i = 0; i < 24; i++) {
            lines.append("{\"prompt\": \"").append(i).append(" + 5 = \", \"response\": \"").append(i + 5).append("\"}\n");
        }
        Path data = Files.writeString(tmp.resolve("d.jsonl"), lines);
        Path ref = tmp.resolve("ref");
        CliRun whole = CliRun.of(sft(m0, data, ref)); // 9 steps: checkpoints at 3 and 6, the final model at 9
        assertEquals(0, whole.code(), whole.err());
        long checkpoint = bytesUnder(ref.resolve("checkpoints/step-00000003"));
        long weights = Files.size(ref.resolve("checkpoints/step-00000003/strong/model.safetensors"));
        long small = bytesUnder(ref) - bytesUnder(ref.resolve("checkpoints")) - bytesUnder(ref.resolve("strong"));
        // room for the run's small files and the first checkpoint, then the disk fills: in the second checkpoint's
        // weights, its optimizer state, just after it (its state.json or the final model)
        long base = small + checkpoint + 16 * 1024;
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        for (long room : new long[]{8 * 1024, weights / 2, weights + (checkpoint - weights) / 2, checkpoint + 4096}) {
            Path mnt = Files.createDirectories(tmp.resolve("mnt-" + room)), copy = tmp.resolve("copy-" + room);
            List<String> cmd = new ArrayList<>(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m",
                    "-XX:TieredStopAtLevel=1", "-Dwmss.library.path=" + Backend.libraryDirectory(),
                    "-cp", System.getProperty("java.class.path"), RankMain.class.getName()));
            cmd.addAll(List.of(sft(m0, data, mnt.resolve("run"))));
            StringBuilder script = new StringBuilder("mount -t tmpfs -o size=" + (base + room) / 1024 + "k tmpfs '" + mnt + "' || exit 99; '");
            script.append(String.join("' '", cmd)).append("'; rc=$?; cp -a '").append(mnt.resolve("run")).append("' '")
                    .append(copy).append("'; exit $rc");
            Process p = new ProcessBuilder("unshare", "-rm", "sh", "-c", script.toString()).redirectErrorStream(true).start();
            String said = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(120, TimeUnit.SECONDS));
            String what = "room " + room + " after the first checkpoint";
            assertEquals(1, p.exitValue(), what + ": an error, not an abort (134) or success:\n" + said);
            assertTrue(said.contains("error: ") && said.contains("No space left on device") && said.contains(mnt.toString()),
                    what + ": the file and the reason:\n" + said);
            assertFalse(said.contains("terminate called"), said);
            // what the full disk left resumes on a disk with room, to the uninterrupted run's weights
            CliRun resumed = CliRun.of(sft(m0, data, copy, "--resume"));
            assertEquals(0, resumed.code(), what + ": " + resumed.err());
            TrainerTest.assertSameBytes(ref.resolve("strong"), copy.resolve("strong"), what);
        }
    }
}
