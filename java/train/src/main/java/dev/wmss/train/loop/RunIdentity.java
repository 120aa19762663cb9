package dev.wmss.train.loop;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What defines a training run, stored in every checkpoint: a resumed run must match it field by field, or it would
 * continue a different run under the old one's name. data is the fingerprint of the tokenised examples (content,
 * tokenizer and max-len); active that of the indices trained on (a WD-DS draw). log-every and checkpoint-every
 * may change between sessions.
 */
public record RunIdentity(String mode, String dataFingerprint, int examples, int maxLen, String activeFingerprint,
                          int active, int epochs, int batchSize, int accum, double lr, double warmupRatio,
                          double weightDecay, double maxGradNorm, long seed, float lambda, boolean freezeWeak,
                          String strongModel, String weakModel, String schedule, double adamBeta2, String clipScope,
                          String lossTokens) {

    /** initial strong / weak models: {@link ModelFingerprint}s of the directories the run starts from. */
    public static RunIdentity of(TrainConfig cfg, String dataFingerprint, int examples, int maxLen, int[] active,
                                 String strongModel, String weakModel) {
        return new RunIdentity(cfg.mode().name(), dataFingerprint, examples, maxLen, sha256(active), active.length,
                cfg.epochs(), cfg.batchSize(), cfg.accum(), cfg.lr(), cfg.warmupRatio(), cfg.weightDecay(),
                cfg.maxGradNorm(), cfg.seed(), cfg.lambda(), cfg.freezeWeak(), strongModel, weakModel,
                cfg.schedule().name(), cfg.adamBeta2(), cfg.clipScope().name(), cfg.lossTokens().name());
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

    /** Field name (as the options say it) -> value, in a stable order. */
    public Map<String, Object> fields() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mode", mode);
        m.put("data (fingerprint of the tokenised examples)", dataFingerprint);
        m.put("examples", examples);
        m.put("--max-len", maxLen);
        m.put("active examples (fingerprint)", activeFingerprint);
        m.put("active examples", active);
        m.put("--epochs", epochs);
        m.put("--batch", batchSize);
        m.put("--accum", accum);
        m.put("--lr", lr);
        m.put("--warmup", warmupRatio);
        m.put("--weight-decay", weightDecay);
        m.put("--clip", maxGradNorm);
        m.put("--seed", seed);
        m.put("--lambda", lambda);
        m.put("--freeze-weak", freezeWeak);
        m.put("--schedule", schedule);
        m.put("--adam-beta2", adamBeta2);
        m.put("--clip-scope", clipScope);
        m.put("--loss-tokens", lossTokens);
        m.put("initial strong model (fingerprint)", strongModel);
        m.put("initial weak model (fingerprint)", weakModel);
        return m;
    }

    /** "field: checkpoint X, now Y" for every field that differs (empty when this run continues that one). */
    public List<String> differencesFrom(RunIdentity checkpoint) {
        List<String> out = new ArrayList<>();
        Map<String, Object> now = fields(), then = checkpoint.fields();
        for (var e : now.entrySet()) {
            Object was = then.get(e.getKey());
            if (!Objects.equals(was, e.getValue())) out.add(e.getKey() + ": checkpoint " + was + ", now " + e.getValue());
        }
        return out;
    }
}
