package dev.wmss.train.loop;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.wmss.train.data.StrictJson;

import java.nio.file.Files;
import java.nio.file.Path;

/** What the training side reads of a model's config.json itself (the native loader checks the rest when it loads). */
public final class ModelConfigFile {
    private ModelConfigFile() {}

    /** The loader's default where config.json gives no max_position_embeddings. */
    public static final int DEFAULT_MAX_POSITIONS = 4096;

    /** max_position_embeddings of a model directory's config.json (the default when absent or unreadable here). */
    public static int maxPositions(Path modelDir) {
        Path f = modelDir.resolve("config.json");
        try {
            JsonObject o = StrictJson.parse(Files.readString(f)).getAsJsonObject();
            JsonElement e = o.get("max_position_embeddings");
            return e != null && e.isJsonPrimitive() && e.getAsJsonPrimitive().isNumber() ? e.getAsInt() : DEFAULT_MAX_POSITIONS;
        } catch (Exception unreadable) { // the model's load says what is wrong with the file
            return DEFAULT_MAX_POSITIONS;
        }
    }

    /**
     * Refuses a sequence length above what a model's positions reach (max_position_embeddings): it was never trained on
     * those positions, and the rotary embedding beyond them is extrapolation. Names both numbers and the file.
     */
    public static void requireFits(int maxLen, String option, Path... models) {
        for (Path m : models) {
            if (m == null) continue;
            int max = maxPositions(m);
            if (maxLen > max) {
                throw new IllegalArgumentException(option + " " + maxLen + " is above max_position_embeddings " + max + " of "
                        + m.resolve("config.json") + " (the model has no trained positions beyond it): give " + option
                        + " " + max + " or less");
            }
        }
    }
}
