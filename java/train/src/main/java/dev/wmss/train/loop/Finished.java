package dev.wmss.train.loop;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * out/finished.json: a training run that reached its last step and saved its final models says so, with the step,
 * the last loss, its {@link RunIdentity} and the size and CRC-32C of every file of its final models
 * ({@link FileManifest}), sealed with its own CRC-32C. A resume of a finished run whose final models verify does nothing
 * (it used to train its last steps again); one whose final models are damaged or missing trains them again from its
 * newest checkpoint.
 *
 * @param problems empty when the final models verify, else what is wrong with them
 */
record Finished(long step, double loss, List<String> problems) {
    private static final Gson GSON = new Gson();
    static final String FILE = "finished.json";

    boolean verified() {
        return problems.isEmpty();
    }

    /** Records the finish of the run in out: its final models (directories of out, e.g. "strong") as they are now. */
    static void write(Path out, long step, double loss, RunIdentity identity, List<String> models) {
        JsonObject o = new JsonObject();
        o.addProperty("step", step);
        o.addProperty("loss", Double.isFinite(loss) ? loss : 0);
        o.add("identity", GSON.toJsonTree(identity));
        o.add("files", FileManifest.of(out, rel -> models.stream().anyMatch(m -> rel.startsWith(m + "/"))).toJson());
        OutputDir.write(out.resolve(FILE), () -> Files.writeString(out.resolve(FILE), FileManifest.seal(o) + "\n"));
    }

    /**
     * The finish recorded in out, checked: null when the run has not finished; an error naming the differences when
     * it finished as another run than identity; else the step and loss, with the damage of its final models if any.
     */
    static Finished check(Path out, RunIdentity identity) {
        Path f = out.resolve(FILE);
        if (!Files.isRegularFile(f)) return null;
        JsonObject o;
        RunIdentity was;
        try {
            o = JsonParser.parseString(Files.readString(f)).getAsJsonObject();
            FileManifest.checkSeal(o, f);
            was = RunIdentity.fromJson(o.get("identity"));
        } catch (IOException | RuntimeException e) {
            return new Finished(0, 0, List.of(f + " is damaged: " + e.getMessage()));
        }
        List<String> diff = identity.differencesFrom(was);
        if (!diff.isEmpty()) {
            throw new IllegalArgumentException("--resume: " + out + " holds a finished run of other settings:\n  "
                    + String.join("\n  ", diff) + "\nuse its settings, or another --out for a new run");
        }
        FileManifest files = FileManifest.fromJson(o.get("files"));
        return new Finished(o.get("step").getAsLong(), o.get("loss").getAsDouble(),
                files == null ? List.of(f + " lists no files") : files.problems(out));
    }

    static void delete(Path out) {
        try {
            Files.deleteIfExists(out.resolve(FILE));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + out.resolve(FILE) + ": " + OutputDir.reason(e), e);
        }
    }
}
