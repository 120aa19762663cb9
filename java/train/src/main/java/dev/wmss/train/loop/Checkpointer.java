package dev.wmss.train.loop;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.runtime.TorchModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The resumable checkpoints of a run: out/checkpoints/step-NNNNNNNN/ holds a directory per model (weights and
 * optimizer.pt) and state.json (the step, the {@link RunIdentity}, the size and CRC-32C of every other file of the
 * checkpoint ({@link FileManifest}), and a CRC-32C of its own content). A checkpoint is written into
 * step-NNNNNNNN.partial/, state.json last, then renamed into place in one atomic step; only then are checkpoints
 * older than the newest {@code keep} renamed aside (*.old) and deleted. So at every instant the newest complete
 * checkpoint is intact, and {@link #latest} finds it whatever was interrupted: partial and *.old directories are never
 * read. A resume takes {@link #verifiedLatest}: the newest checkpoint whose files still are what was written, falling
 * back to the previous one (and saying which file is damaged) when the newest is not.
 */
public final class Checkpointer {
    private static final Logger LOG = LoggerFactory.getLogger(Checkpointer.class);
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();
    private static final Pattern COMPLETE = Pattern.compile("step-(\\d{8,})");

    /** A complete checkpoint; files: what its files held when written (null for checkpoints of earlier versions). */
    public record Saved(Path dir, long step, RunIdentity identity, FileManifest files) {}

    /** Checkpoints kept by default: the newest and the one before, so that a damaged newest one has a fallback. */
    public static final int DEFAULT_KEEP = 2;

    /** Test hook: called at each point of a save where a crash must leave a resumable run. */
    interface Faults {
        void at(String point) throws IOException;
    }

    private final Path root;
    private final Faults faults;
    private final int keep;

    public Checkpointer(Path out) {
        this(out, DEFAULT_KEEP);
    }

    /** keep: how many of the newest checkpoints a save leaves (at least 1). */
    public Checkpointer(Path out, int keep) {
        this(out, point -> {}, keep);
    }

    Checkpointer(Path out, Faults faults) {
        this(out, faults, DEFAULT_KEEP);
    }

    Checkpointer(Path out, Faults faults, int keep) {
        if (keep < 1) throw new IllegalArgumentException("--keep-checkpoints must be >= 1, got " + keep);
        this.root = out.resolve("checkpoints");
        this.faults = faults;
        this.keep = keep;
    }

    public Path root() {
        return root;
    }

    /** The newest complete checkpoint, if any (its state read, its files not verified). */
    public Optional<Saved> latest() {
        for (Path d : complete()) {
            try {
                return Optional.of(read(d));
            } catch (RuntimeException e) {
                LOG.warn("skipping checkpoint {}: {}", d, e.getMessage());
            }
        }
        return Optional.empty();
    }

    /**
     * The newest checkpoint whose files verify against its state.json, for a resume. A newer one that does not is
     * skipped with a warning naming the damaged file (renamed step-N.damaged when setAside, so that no later save or
     * resume takes it); when checkpoints exist but none verifies, an error naming each one's damage. Empty when there
     * is no checkpoint. Checkpoints of earlier versions (no file list) are taken as they are, with a warning.
     */
    public Optional<Saved> verifiedLatest(boolean setAside) {
        List<String> damaged = new java.util.ArrayList<>();
        for (Path d : complete()) {
            List<String> problems;
            Saved s = null;
            try {
                s = read(d);
                problems = s.files() == null ? List.of() : s.files().problems(d);
            } catch (RuntimeException e) {
                problems = List.of(e.getMessage());
            }
            if (problems.isEmpty()) {
                if (s.files() == null) LOG.warn("checkpoint {} was written without checksums: resumed unverified", d);
                if (!damaged.isEmpty()) {
                    LOG.warn("{}; resuming from the previous complete checkpoint, step {}", String.join("; ", damaged), s.step());
                }
                return Optional.of(s);
            }
            Path aside = setAside ? setAside(d) : null;
            damaged.add("checkpoint " + d + " is damaged: " + String.join("; ", problems)
                    + (aside != null ? " (set aside as " + aside.getFileName() + ")" : ""));
        }
        if (damaged.isEmpty()) return Optional.empty();
        throw new IllegalArgumentException(String.join("\n", damaged) + "\nno complete checkpoint in " + root
                + " verifies: start the run again with --restart (deleting it), or in another --out");
    }

    private static Path setAside(Path d) {
        try {
            Path aside = d.resolveSibling(d.getFileName() + ".damaged");
            for (int k = 2; Files.exists(aside, java.nio.file.LinkOption.NOFOLLOW_LINKS); k++) { // an earlier one stays
                aside = d.resolveSibling(d.getFileName() + ".damaged-" + k);
            }
            Files.move(d, aside, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            return aside;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot set the damaged checkpoint " + d + " aside: " + OutputDir.reason(e), e);
        }
    }

    /** The complete checkpoint directories, newest first. */
    private List<Path> complete() {
        if (!Files.isDirectory(root)) return List.of();
        try (Stream<Path> s = Files.list(root)) {
            return s.filter(p -> COMPLETE.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingLong(Checkpointer::stepOf).reversed()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root + ": " + e.getMessage(), e);
        }
    }

    private static long stepOf(Path dir) {
        return Long.parseLong(dir.getFileName().toString().substring("step-".length()));
    }

    /** A checkpoint's state.json: its own CRC-32C checked (where written), then step, identity and file list. */
    static Saved read(Path dir) {
        try {
            JsonObject o = JsonParser.parseString(Files.readString(dir.resolve("state.json"))).getAsJsonObject();
            FileManifest.checkSeal(o, dir.resolve("state.json"));
            RunIdentity id = RunIdentity.fromJson(o.get("identity"));
            long step = o.get("step").getAsLong();
            Matcher named = COMPLETE.matcher(dir.getFileName().toString());
            if (named.matches() && Long.parseLong(named.group(1)) != step) { // renamed: its place in the order is a lie
                throw new IllegalStateException("it holds the checkpoint of step " + step + " under the name of step "
                        + Long.parseLong(named.group(1)));
            }
            return new Saved(dir, step, id, FileManifest.fromJson(o.get("files")));
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("unreadable checkpoint state in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Writes the checkpoint of a step (each model with its optimizer state) and then drops the older ones. */
    public Saved save(long step, RunIdentity identity, Map<String, TorchModel> models) {
        return save(step, identity, dir -> {
            for (var e : models.entrySet()) {
                e.getValue().save(dir.resolve(e.getKey()));
                e.getValue().saveOptimizer(dir.resolve(e.getKey()).resolve("optimizer.pt"));
            }
        });
    }

    interface Contents {
        void writeTo(Path dir) throws IOException;
    }

    /**
     * The checkpoint of a step over data-parallel ranks, called on every rank: rank 0 writes the weights and every
     * whole optimizer state, each rank the shard of every sharded optimizer ({@link TorchModel.OptimizerShard}) into
     * the same partial directory, then rank 0 completes it as {@link #save(long, RunIdentity, Map)} does. A failure on
     * any rank fails the save on every rank (nothing half-written is ever complete). Returns the checkpoint on rank 0,
     * null on the others. Without a sharded optimizer, rank 0 alone writes (the others wait).
     */
    public Saved save(long step, RunIdentity identity, Map<String, TorchModel> models, DataParallel parallel) {
        boolean sharded = models.values().stream().anyMatch(m -> m.optimizerShard().stage() > 0);
        if (!sharded || !parallel.distributed()) return parallel.isRoot() ? save(step, identity, models) : null;
        Path partial = partial(step), done = done(step);
        // 1. rank 0: a fresh partial directory with the weights and the whole optimizer states (or: saved already)
        RuntimeException failure = null;
        long state = 0;
        if (parallel.isRoot()) {
            try {
                if (begin(step)) {
                    for (var e : models.entrySet()) {
                        e.getValue().save(partial.resolve(e.getKey()));
                        if (e.getValue().optimizerShard().stage() == 0) {
                            e.getValue().saveOptimizer(partial.resolve(e.getKey()).resolve("optimizer.pt"));
                        }
                    }
                } else {
                    state = 1;
                }
            } catch (RuntimeException e) {
                failure = e;
                state = 2;
            }
        }
        state = agree(parallel, state, failure, "rank 0 could not write the checkpoint " + done);
        if (state == 1) return parallel.isRoot() ? read(done) : null; // this step is saved (a deterministic run)
        // 2. every rank: its optimizer shards
        try {
            for (var e : models.entrySet()) {
                if (e.getValue().optimizerShard().stage() > 0) {
                    e.getValue().saveOptimizer(partial.resolve(e.getKey()).resolve(
                            TorchModel.OptimizerShard.fileName(parallel.rank(), parallel.worldSize())));
                }
            }
        } catch (RuntimeException e) {
            failure = e;
        }
        agree(parallel, failure == null ? 0 : 2, failure, "a rank could not write its optimizer shard into " + partial);
        // 3. rank 0: the manifest of every rank's files, state.json, the rename
        Saved saved = null;
        if (parallel.isRoot()) {
            try {
                saved = finish(step, identity);
            } catch (RuntimeException e) {
                failure = e;
            }
        }
        agree(parallel, failure == null ? 0 : 2, failure, "rank 0 could not complete the checkpoint " + done);
        return saved;
    }

    /** The largest of every rank's state (2: failed): this rank's own failure rethrown, another's as a failure here. */
    private static long agree(DataParallel parallel, long state, RuntimeException own, String others) {
        long[] all = parallel.max(state);
        if (own != null) throw own;
        if (all[0] == 2) throw new IllegalStateException(others + " (its log says why)");
        return all[0];
    }

    private Path partial(long step) {
        return root.resolve(String.format("step-%08d", step) + ".partial");
    }

    private Path done(long step) {
        return root.resolve(String.format("step-%08d", step));
    }

    /** A fresh, empty partial directory for the step; false when the step is saved already. */
    private boolean begin(long step) {
        Path partial = partial(step);
        try {
            Files.createDirectories(root);
            if (Files.exists(done(step).resolve("state.json"))) return false;
            deleteTree(partial);
            Files.createDirectories(partial);
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the checkpoint " + done(step) + ": " + e.getMessage(), e);
        }
    }

    Saved save(long step, RunIdentity identity, Contents contents) {
        if (!begin(step)) return read(done(step)); // this step is saved (a deterministic run)
        try {
            contents.writeTo(partial(step));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the checkpoint " + done(step) + ": " + e.getMessage(), e);
        }
        return finish(step, identity);
    }

    /** The partial directory's contents are written: the manifest, state.json, the rename, the older ones pruned. */
    private Saved finish(long step, RunIdentity identity) {
        Path partial = partial(step), done = done(step);
        try {
            faults.at("contents written");
            FileManifest files = FileManifest.of(partial, rel -> !rel.equals("state.json"));
            JsonObject state = new JsonObject();
            state.addProperty("step", step);
            state.add("identity", GSON.toJsonTree(identity));
            state.add("files", files.toJson());
            Path stateFile = partial.resolve("state.json");
            Files.writeString(stateFile, FileManifest.seal(state) + "\n");
            force(stateFile);
            faults.at("state written");
            deleteTree(done); // a directory without state.json: not a checkpoint
            Files.move(partial, done, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            force(root);
            faults.at("renamed into place");
            List<Long> older = complete().stream().map(Checkpointer::stepOf).filter(k -> k < step).toList(); // newest first
            try (Stream<Path> s = Files.list(root)) {
                for (Path p : s.toList()) {
                    String f = p.getFileName().toString();
                    Matcher m = COMPLETE.matcher(f);
                    if (m.matches() && older.indexOf(Long.parseLong(m.group(1))) >= keep - 1) {
                        Path old = root.resolve(f + ".old");
                        Files.move(p, old, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                        faults.at("old set aside");
                        deleteTree(old);
                    } else if (f.endsWith(".old") || (f.endsWith(".partial") && !p.equals(partial))) {
                        deleteTree(p); // left by an earlier crash
                    }
                }
            }
            faults.at("old deleted");
            return new Saved(done, step, identity, files);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the checkpoint " + done + ": " + e.getMessage(), e);
        }
    }

    private static void force(Path p) {
        try (FileChannel c = FileChannel.open(p, StandardOpenOption.READ)) {
            c.force(true);
        } catch (IOException ignored) {
            // best effort: some file systems cannot sync a directory
        }
    }

    public static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
