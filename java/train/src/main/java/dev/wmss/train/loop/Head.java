package dev.wmss.train.loop;

import dev.wmss.runtime.FusedHead;

/**
 * How the loss meets the vocabulary: {@link Mode#FUSED} (the default) runs the models to their final norm and the
 * head, the mix and the cross-entropy in chunks of rows ({@link FusedHead}, at most chunkBytes of logits at a time);
 * {@link Mode#FULL} materialises every model's N×V logits, runs ce_mix on them and goes back from their gradient
 * (the reference path, and what the fused one is tested against).
 */
public record Head(Mode mode, long chunkBytes) {
    public enum Mode { FUSED, FULL }

    public static final Head FUSED = new Head(Mode.FUSED, FusedHead.DEFAULT_CHUNK_BYTES);
    public static final Head FULL = new Head(Mode.FULL, FusedHead.DEFAULT_CHUNK_BYTES);

    public Head {
        if (mode == null) throw new IllegalArgumentException("head mode is required");
        if (chunkBytes <= 0) throw new IllegalArgumentException("--head-chunk-mb must be > 0, got " + chunkBytes + " bytes");
    }

    public boolean fused() {
        return mode == Mode.FUSED;
    }
}
