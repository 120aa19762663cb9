package dev.wmss.train.loop;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.kernels.torch.TorchModel;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * The resumable checkpoint of a run: out/checkpoint/{strong,weak}/ (model + optimizer.pt) and state.json. A new
 * checkpoint is written beside the old one and swapped in by renames, so an interrupted save never destroys the
 * previous checkpoint.
 */
final class Checkpoints {
    static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();

    record State(long step, String mode) {}

    private Checkpoints() {}

    static Path dir(Path out) {
        return out.resolve("checkpoint");
    }

    /** The checkpoint to resume from, if any (also after a crash between the two renames). */
    static Path find(Path out) {
        Path c = dir(out), old = out.resolve("checkpoint.old");
        if (Files.exists(c.resolve("state.json"))) return c;
        if (Files.exists(old.resolve("state.json"))) return old;
        return null;
    }

    static State state(Path checkpoint) {
        try {
            JsonObject o = JsonParser.parseString(Files.readString(checkpoint.resolve("state.json"))).getAsJsonObject();
            return new State(o.get("step").getAsLong(), o.get("mode").getAsString());
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("unreadable checkpoint state in " + checkpoint + ": " + e.getMessage(), e);
        }
    }

    static void save(Path out, State state, TorchModel strong, TorchModel weak) {
        Path tmp = out.resolve("checkpoint.tmp"), c = dir(out), old = out.resolve("checkpoint.old");
        try {
            deleteTree(tmp);
            strong.save(tmp.resolve("strong"));
            strong.saveOptimizer(tmp.resolve("strong/optimizer.pt"));
            if (weak != null) {
                weak.save(tmp.resolve("weak"));
                weak.saveOptimizer(tmp.resolve("weak/optimizer.pt"));
            }
            Files.writeString(tmp.resolve("state.json"), GSON.toJson(state));
            deleteTree(old);
            if (Files.exists(c)) Files.move(c, old);
            Files.move(tmp, c);
            deleteTree(old);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the checkpoint in " + out + ": " + e.getMessage(), e);
        }
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        try (Stream<Path> s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
