package dev.wmss.train.loop;

/**
 * Linear warm-up from 0 to {@code peak} over {@code warmupSteps}, then a cosine or linear decay to {@code floor} at
 * {@code totalSteps} (and {@code floor} after it). Steps count from 0; {@link #at} gives the rate for a step. The
 * authors' code decays linearly without warm-up (the trainer's default); cosine with 10% warm-up is the other common
 * choice (an option).
 */
public record LrSchedule(double peak, long warmupSteps, long totalSteps, double floor, boolean linear) {
    /** Cosine decay after the warm-up. */
    public LrSchedule(double peak, long warmupSteps, long totalSteps, double floor) {
        this(peak, warmupSteps, totalSteps, floor, false);
    }

    public LrSchedule {
        if (!(peak >= 0) || !(floor >= 0) || floor > peak || warmupSteps < 0 || totalSteps < 1 || warmupSteps > totalSteps) {
            throw new IllegalArgumentException("need 0 <= floor <= peak, 0 <= warmupSteps <= totalSteps, totalSteps >= 1;"
                    + " got peak " + peak + ", floor " + floor + ", warmup " + warmupSteps + ", total " + totalSteps);
        }
    }

    /** 10% warm-up, cosine to 0. */
    public static LrSchedule warmupCosine(double peak, long totalSteps) {
        return new LrSchedule(peak, Math.max(0, totalSteps / 10), totalSteps, 0);
    }

    /** The authors' code: no warm-up, linear decay from peak to 0. */
    public static LrSchedule linearDecay(double peak, long totalSteps) {
        return new LrSchedule(peak, 0, totalSteps, 0, true);
    }

    public double at(long step) {
        if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
        if (step >= totalSteps) return floor;
        long decay = totalSteps - warmupSteps;
        double progress = decay == 0 ? 1 : (double) (step - warmupSteps) / decay;
        return floor + (peak - floor) * (linear ? 1 - progress : 0.5 * (1 + Math.cos(Math.PI * progress)));
    }
}
