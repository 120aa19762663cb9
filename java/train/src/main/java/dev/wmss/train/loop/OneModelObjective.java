package dev.wmss.train.loop;

import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Batch;

import java.util.Map;

/** An objective that trains one model ("strong"): its step, its checkpoint role and its FLOPs. */
abstract class OneModelObjective implements Objective {
    protected final TorchModel strong;

    OneModelObjective(TorchModel strong) {
        this.strong = strong;
    }

    @Override
    public GradNorms step(double lr, double maxGradNorm) {
        return GradNorms.of("strong", strong.step(lr, maxGradNorm)); // the native step refuses a non-finite norm
    }

    @Override
    public Map<String, TorchModel> models() {
        return Map.of("strong", strong);
    }

    @Override
    public double flops(Batch b) {
        return 3 * strong.forwardFlops(b.batch(), b.seq());
    }
}
