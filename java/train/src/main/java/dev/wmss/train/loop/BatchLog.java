package dev.wmss.train.loop;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * batches.jsonl: which examples each step trained on, as the collator received them, one line per optimizer step:
 * {@code {"step": 3, "examples": [12, 4, 4, 31]}} (indices into the training data, in order, a WD-DS draw's repeats
 * included). Under a launcher each rank writes its own share (batches.jsonl on rank 0, batches-rank-R.jsonl on rank
 * R). A resumed run keeps the lines up to its checkpoint's step, as metrics.jsonl does. For audits ("did step 40 see
 * the drawn examples?") and the tests that pin WD-DS's draw to what is trained.
 */
public final class BatchLog implements MetricsSink {
    private final Path file;

    public BatchLog(Path file) {
        this.file = file;
    }

    /** The file of rank r's batches in a run's directory. */
    public static Path file(Path runDir, int rank) {
        return runDir.resolve(rank == 0 ? "batches.jsonl" : "batches-rank-" + rank + ".jsonl");
    }

    @Override
    public void start(String run, long start, long total) {
        JsonlMetrics.keepUpTo(file, start);
    }

    @Override
    public void step(Step s) {
        String line = "{\"step\": " + s.step() + ", \"examples\": ["
                + Arrays.stream(s.examples()).mapToObj(Integer::toString).collect(Collectors.joining(", ")) + "]}\n";
        try {
            Files.writeString(file, line, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + OutputDir.reason(e), e);
        }
    }

    @Override
    public void close() {}
}
