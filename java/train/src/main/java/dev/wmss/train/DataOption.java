package dev.wmss.train;

import dev.wmss.train.data.Example;
import dev.wmss.train.data.JsonlReader;
import dev.wmss.train.task.ArithmeticTasks;

import java.nio.file.Path;
import java.util.List;

/** --data: a JSONL file, or "builtin:train" / "builtin:test" for the built-in arithmetic task. */
final class DataOption {
    static final int TRAIN = 2000, TEST = 200, LEVELS = 2;

    private DataOption() {}

    static List<Example> load(String spec, long seed) {
        if (spec.startsWith("builtin")) {
            ArithmeticTasks.Split s = ArithmeticTasks.splits(TRAIN, TEST, LEVELS, seed);
            return spec.endsWith(":test") ? s.test() : s.train();
        }
        return JsonlReader.read(Path.of(spec));
    }
}
