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
 * optimizer.pt) and state.json (the step and the {@link RunIdentity}). A checkpoint is written into
 * step-NNNNNNNN.partial/, state.json last, then renamed into place in one atomic step; only then are older
 * checkpoints renamed aside (*.old) and deleted. So at every instant the newest complete checkpoint is intact, and
 * {@link #latest} finds it whatever was interrupted: partial and *.old directories are never read.
 */
public final class Checkpointer {
    private static final Logger LOG = LoggerFactory.getLogger(Checkpointer.class);
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();
    private static final Pattern COMPLETE = Pattern.compile("step-(\\d{8,})");

    /** A complete checkpoint. */
    public record Saved(Path dir, long step, RunIdentity identity) {}

    /** Test hook: called at each point of a save where a crash must leave a resumable run. */
    interface Faults {
        void at(String point) throws IOException;
    }

    private final Path root;
    private final Faults faults;

    public Checkpointer(Path out) {
        this(out, point -> {});
    }

    Checkpointer(Path out, Faults faults) {
        this.root = out.resolve("checkpoints");
        this.faults = faults;
    }

    public Path root() {
        return root;
    }

    /** The newest complete checkpoint, if any. */
    public Optional<Saved> latest() {
        if (!Files.isDirectory(root)) return Optional.empty();
        List<Path> dirs;
        try (Stream<Path> s = Files.list(root)) {
            dirs = s.filter(p -> COMPLETE.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparingLong(Checkpointer::stepOf).reversed()).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + root + ": " + e.getMessage(), e);
        }
        for (Path d : dirs) {
            try {
                return Optional.of(read(d));
            } catch (RuntimeException e) {
                LOG.warn("skipping checkpoint {}: {}", d, e.getMessage());
            }
        }
        return Optional.empty();
    }

    private static long stepOf(Path dir) {
        return Long.parseLong(dir.getFileName().toString().substring("step-".length()));
    }

    static Saved read(Path dir) {
        try {
            JsonObject o = JsonParser.parseString(Files.readString(dir.resolve("state.json"))).getAsJsonObject();
            RunIdentity id = RunIdentity.fromJson(o.get("identity"));
            return new Saved(dir, o.get("step").getAsLong(), id);
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

    Saved save(long step, RunIdentity identity, Contents contents) {
        String name = String.format("step-%08d", step);
        Path partial = root.resolve(name + ".partial"), done = root.resolve(name);
        try {
            Files.createDirectories(root);
            if (Files.exists(done.resolve("state.json"))) return read(done); // this step is saved (a deterministic run)
            deleteTree(partial);
            Files.createDirectories(partial);
            contents.writeTo(partial);
            faults.at("contents written");
            JsonObject state = new JsonObject();
            state.addProperty("step", step);
            state.add("identity", GSON.toJsonTree(identity));
            Path stateFile = partial.resolve("state.json");
            Files.writeString(stateFile, GSON.toJson(state) + "\n");
            force(stateFile);
            faults.at("state written");
            deleteTree(done); // a directory without state.json: not a checkpoint
            Files.move(partial, done, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            force(root);
            faults.at("renamed into place");
            try (Stream<Path> s = Files.list(root)) {
                for (Path p : s.toList()) {
                    String f = p.getFileName().toString();
                    Matcher m = COMPLETE.matcher(f);
                    if (m.matches() && Long.parseLong(m.group(1)) < step) {
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
            return new Saved(done, step, identity);
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
