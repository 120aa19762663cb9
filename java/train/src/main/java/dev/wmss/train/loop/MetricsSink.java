package dev.wmss.train.loop;

import java.util.Map;

/** Where the trainer reports: metrics.jsonl ({@link JsonlMetrics}) and the console ({@link ConsoleMetrics}). */
public interface MetricsSink extends AutoCloseable {
    /**
     * One optimizer step: step (1-based, after it), epoch, loss, grad_norm, lr, ms, tok_s, the diagnostics, the
     * model FLOPs utilisation against the measured sgemm peak (NaN when unknown), and the indices (into the training
     * data) of the examples this rank collated for the step, in order, repeats included.
     */
    record Step(long step, long total, int epoch, double loss, double gradNorm, double lr, double ms, double tokPerSec,
                Map<String, Object> diagnostics, double mfu, int[] examples) {
        public Step(long step, long total, int epoch, double loss, double gradNorm, double lr, double ms, double tokPerSec,
                    Map<String, Object> diagnostics) {
            this(step, total, epoch, loss, gradNorm, lr, ms, tokPerSec, diagnostics, Double.NaN, new int[0]);
        }
    }

    /** Called once before the first step; start is the step resumed from (0 for a new run). */
    void start(String run, long start, long total);

    void step(Step s);

    @Override
    void close();

    static MetricsSink of(MetricsSink... sinks) {
        return new MetricsSink() {
            @Override
            public void start(String run, long start, long total) {
                for (MetricsSink s : sinks) s.start(run, start, total);
            }

            @Override
            public void step(Step s) {
                for (MetricsSink k : sinks) k.step(s);
            }

            @Override
            public void close() {
                for (MetricsSink s : sinks) s.close();
            }
        };
    }
}
