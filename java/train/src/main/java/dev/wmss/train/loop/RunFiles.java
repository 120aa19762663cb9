package dev.wmss.train.loop;

import com.google.gson.JsonElement;
import com.google.gson.JsonParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What wmss-native writes into an output directory, by name, so that replacing a run (--restart, the demo's fresh
 * start) deletes those files and nothing else: a file of the user's inside the run (a README in strong/, notes in a
 * stage, a plot of their own) is kept and named, and a directory that still holds one stays. A run record that
 * wmss-native did not write (a run.json or metrics.jsonl of something else) is not replaced at all: an error.
 */
public final class RunFiles {
    private static final Logger LOG = LoggerFactory.getLogger("dev.wmss.train");

    private RunFiles() {}

    /** A directory's rule: what a name inside it is: {@link #FILE}, a directory's rule, {@link #LOCK}, or null (not ours). */
    @FunctionalInterface
    public interface Tree {
        Tree child(String name, boolean directory);
    }

    /** A file wmss-native writes. */
    public static final Tree FILE = (n, d) -> null;
    /** A lock file: neither deleted nor the user's (the command holds it). */
    public static final Tree LOCK = (n, d) -> null;

    private static final Pattern MODEL_FILE = Pattern.compile("config\\.json|generation_config\\.json"
            + "|model(-\\d{5}-of-\\d{5})?\\.safetensors|model\\.safetensors\\.index\\.json|optimizer\\.pt"
            + "|optimizer\\.zero-\\d+-of-\\d+\\.pt|.*\\.tmp");
    private static final Pattern STEP = Pattern.compile("step-\\d{8,}(\\.partial|\\.old|\\.damaged(-\\d+)?)?");
    private static final Pattern TRAINING_FILE = Pattern.compile("metrics\\.jsonl|train\\.json|run\\.json|finished\\.json"
            + "|batches(-rank-\\d+)?\\.jsonl|stage\\.json|elapsed\\.json|entropy-(weak|strong)\\.jsonl|active\\.json|.*\\.tmp");

    /** The plots a run's report draws (MethodReport): a plot of the user's own beside them is theirs. */
    private static final java.util.Set<String> PLOTS = java.util.Set.of("loss.png", "entropy.png", "logits.png",
            "wdds-weights.png", "gradnorm.png", "accuracy.png");

    /** A model directory: weights, config, tokenizer files, optimizer state. */
    public static final Tree MODEL = (n, d) -> !d && (MODEL_FILE.matcher(n).matches() || HfModelDir.TOKENIZER_FILES.contains(n))
            ? FILE : null;
    /** checkpoints/ and its step directories. */
    public static final Tree CHECKPOINTS = (n, d) -> d && STEP.matcher(n).matches() ? RunFiles::checkpoint : null;
    /** A training run's directory (sft, wmss, a training stage of run): records, models, checkpoints, WD-DS's files. */
    public static final Tree TRAINING = RunFiles::training;
    /** The directory of `run` or the demo: its stages, the final model, report and plots. */
    public static final Tree METHOD = RunFiles::method;

    private static Tree lock(String n) {
        return n.endsWith(".wmss.lock") ? LOCK : null;
    }

    private static Tree checkpoint(String n, boolean d) {
        if (d) return n.equals("strong") || n.equals("weak") ? MODEL : null;
        return n.equals("state.json") || n.endsWith(".tmp") ? FILE : null;
    }

    private static Tree training(String n, boolean d) {
        if (d) {
            return switch (n) {
                case "strong", "weak" -> MODEL;
                case "checkpoints" -> CHECKPOINTS;
                default -> n.matches("round-\\d+") ? TRAINING : null;
            };
        }
        return TRAINING_FILE.matcher(n).matches() ? FILE : lock(n);
    }

    private static Tree method(String n, boolean d) {
        if (d) {
            return switch (n) {
                case "m1", "control", "wdds", "wdjt" -> TRAINING;
                case "eval" -> (e, dir) -> !dir && e.matches("eval\\.json|stage\\.json|elapsed\\.json|.*\\.tmp") ? FILE : null;
                case "final" -> MODEL;
                case "plots" -> (p, dir) -> !dir && PLOTS.contains(p) ? FILE : null;
                default -> null;
            };
        }
        return n.matches("run\\.json|report\\.md|final\\.stage\\.json|final\\.elapsed\\.json|.*\\.tmp") ? FILE : lock(n);
    }

    /**
     * Deletes what rule says wmss-native wrote among the given names of dir (all of dir's entries when names is empty),
     * recursively; what is not ours is kept and named in a warning. Before anything is deleted, a run record of those
     * names that wmss-native did not write is refused (what: the option, e.g. "--restart").
     */
    public static void delete(Path dir, Tree rule, List<String> names, String what) {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) return;
        try {
            List<Path> top = new ArrayList<>();
            if (names.isEmpty()) {
                try (var s = Files.list(dir)) {
                    top.addAll(s.sorted().toList());
                }
            } else {
                for (String n : names) if (Files.exists(dir.resolve(n), LinkOption.NOFOLLOW_LINKS)) top.add(dir.resolve(n));
            }
            for (Path p : top) requireWritten(p, what);
            List<Path> kept = new ArrayList<>();
            for (Path p : top) delete(p, rule, kept);
            if (!kept.isEmpty()) {
                LOG.warn("{} kept {} file{} that wmss-native did not write: {}{} (delete or move them yourself)", what,
                        kept.size(), kept.size() == 1 ? "" : "s", kept.subList(0, Math.min(5, kept.size())),
                        kept.size() > 5 ? " and " + (kept.size() - 5) + " more" : "");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the earlier run in " + dir + ": " + OutputDir.reason(e), e);
        }
    }

    /** p under its parent's rule: deleted when ours (a directory: its contents by its rule, then itself if empty). */
    private static void delete(Path p, Tree parentRule, List<Path> kept) throws IOException {
        boolean directory = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS);
        Tree rule = parentRule.child(p.getFileName().toString(), directory);
        if (rule == LOCK) return;
        if (rule == null) {
            kept.add(p);
            return;
        }
        if (!directory) {
            Files.delete(p);
            return;
        }
        try (var s = Files.list(p)) {
            for (Path c : s.sorted().toList()) delete(c, rule, kept);
        }
        try (var s = Files.list(p)) {
            if (s.findAny().isEmpty()) Files.delete(p);
        }
    }

    /** The records a run is known by must be wmss-native's before a run is replaced: else nothing is deleted. */
    private static void requireWritten(Path p, String what) {
        String n = p.getFileName().toString();
        String key = switch (n) {
            case "run.json" -> "command";
            case "train.json" -> "config";
            case "finished.json", "metrics.jsonl" -> "step";
            default -> null;
        };
        if (key == null || Files.isDirectory(p)) return;
        boolean ours;
        try (BufferedReader r = Files.newBufferedReader(p)) {
            String text = n.endsWith(".jsonl") ? r.readLine() : r.lines().reduce("", (a, b) -> a + b + "\n");
            JsonElement e = text == null ? null : JsonParser.parseString(text);
            ours = text == null || text.isBlank() || (e != null && e.isJsonObject() && e.getAsJsonObject().has(key));
        } catch (IOException | RuntimeException e) {
            ours = false;
        }
        if (!ours) {
            throw new IllegalArgumentException(p + " was not written by wmss-native (no \"" + key + "\" in it): " + what
                    + " replaces only a wmss-native run; choose another --out, or move " + p.getFileName() + " away");
        }
    }
}
