package dev.wmss.train.loop;

import com.google.gson.Gson;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.wmss.train.settings.Setting;
import dev.wmss.train.settings.SettingsDiff;

import java.util.List;

/**
 * What defines a training run, stored in every checkpoint: a resumed run must match it field by field, or it would
 * continue a different run under the old one's name. config: the run's configuration (whose log-every and
 * checkpoint-every may change between sessions); data: the fingerprint of the tokenised examples (content, tokenizer
 * and max-len); activeFingerprint: that of the indices trained on (a WD-DS draw); strongModel, weakModel: the
 * {@link ModelFingerprint}s of the directories the run starts from. Where the run runs (--device, --precision) and
 * how the loss meets the vocabulary (--head) are not part of it: a run may move between devices.
 */
public record RunIdentity(TrainConfig config,
                          @Setting("data (fingerprint of the tokenised examples)") String data,
                          @Setting("examples") int examples,
                          @Setting("--max-len") int maxLen,
                          @Setting("active examples (fingerprint)") String activeFingerprint,
                          @Setting("active examples") int active,
                          @Setting("initial strong model (fingerprint)") String strongModel,
                          @Setting("initial weak model (fingerprint)") String weakModel) {
    private static final Gson GSON = new Gson();

    public static RunIdentity of(TrainConfig cfg, String dataFingerprint, int examples, int maxLen, int[] active,
                                 String strongModel, String weakModel) {
        return new RunIdentity(cfg, dataFingerprint, examples, maxLen, sha256(active), active.length, strongModel, weakModel);
    }

    static String sha256(int[] values) {
        try {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * values.length);
            for (int v : values) b.putInt(v);
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b.array()));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** "field: checkpoint X, now Y" for every field that differs (empty when this run continues that one). */
    public List<String> differencesFrom(RunIdentity checkpoint) {
        return SettingsDiff.of(GSON.toJsonTree(checkpoint), this, GSON, "checkpoint");
    }

    /**
     * The identity as a checkpoint's state.json holds it. Earlier versions wrote the configuration's fields flat
     * beside the others (without log-every and checkpoint-every, which may change anyway): read as this one.
     */
    static RunIdentity fromJson(JsonElement e) {
        if (e == null || !e.isJsonObject()) throw new IllegalStateException("no run identity");
        JsonObject o = e.getAsJsonObject();
        if (!o.has("config") && o.has("mode")) {
            JsonObject flat = o.deepCopy(), cfg = new JsonObject();
            for (var c : TrainConfig.class.getRecordComponents()) {
                if (flat.has(c.getName())) cfg.add(c.getName(), flat.remove(c.getName()));
            }
            cfg.addProperty("logEvery", 1);
            cfg.addProperty("checkpointEvery", 0);
            flat.add("config", cfg);
            if (flat.has("dataFingerprint")) flat.add("data", flat.remove("dataFingerprint"));
            o = flat;
        }
        RunIdentity id = GSON.fromJson(o, RunIdentity.class);
        if (id == null || id.config() == null) throw new IllegalStateException("no run identity");
        return id;
    }
}
