package dev.wmss.train.loop;

import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Batch;

import java.lang.foreign.Arena;
import java.util.Map;

/**
 * What a training step optimises and which models it updates: {@link SftObjective} (plain cross-entropy of one
 * model), {@link TemperatureObjective} (one model's cross-entropy at temperature 1/lambda: WD-JT's control) or
 * {@link WdJtObjective} (WD-JT: cross-entropy of the mixed logits of a weak and a strong model; owns lambda and
 * freezing). The trainer feeds it micro-batches, calls {@link #step} once per optimizer step, checkpoints
 * {@link #models} and takes {@link #flops} for the MFU.
 */
public interface Objective {
    /**
     * Forward, loss and backward of one micro-batch. invNorm is 1 / (supervised tokens of the whole accumulated
     * step), so the gradients of the micro-batches add up to those of the step. Returns the micro-batch's share of
     * the step's loss. With diagnostics != null, puts the objective's diagnostics there.
     */
    double microBatch(Batch batch, float invNorm, Arena arena, Map<String, Object> diagnostics);

    /**
     * One optimizer step of every trained model at learning rate lr, clipped to maxGradNorm ({@code <= 0}: no clip).
     * Every trained model's gradient norm is checked before any model steps: a non-finite one throws
     * {@link dev.wmss.kernels.error.NonFiniteException} naming the model, and nothing changes.
     */
    GradNorms step(double lr, double maxGradNorm);

    /**
     * The gradient norms of a step, before clipping: {@code total} is the norm of every trained model's gradients
     * together (WD-JT's joint norm, the one its joint clip acts on; a single model's own norm), {@code perModel} each
     * trained model's, by role.
     */
    record GradNorms(double total, Map<String, Double> perModel) {
        public GradNorms {
            perModel = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(perModel));
        }

        /** One trained model, by role. */
        public static GradNorms of(String role, double norm) {
            return new GradNorms(norm, Map.of(role, norm));
        }
    }

    /** The models a checkpoint must hold, by role ("strong", "weak"), in a stable order. */
    Map<String, TorchModel> models();

    /** Matrix-multiply FLOPs of one micro-batch (forward and backward of every model), for the MFU; 0 if unknown. */
    default double flops(Batch b) {
        return 0;
    }
}
