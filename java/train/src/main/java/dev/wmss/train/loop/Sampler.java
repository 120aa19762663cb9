package dev.wmss.train.loop;

import java.util.SplittableRandom;

/**
 * Which examples each step trains on. Step s of epoch e takes the positions [b·B·A, (b+1)·B·A) of the epoch's seeded
 * permutation of the active examples (B = batch size, A = accumulation), cut into micro-batches of B; so a step's
 * batches depend only on (seed, step), and a resumed run sees exactly the batches it would have seen.
 */
public final class Sampler {
    private final int[] active;
    private final int batchSize, perStep;
    private final long seed;
    private int cachedEpoch = -1;
    private int[] cachedOrder;

    public Sampler(int[] active, int batchSize, int accum, long seed) {
        if (active.length == 0) throw new IllegalArgumentException("no examples to train on");
        this.active = active.clone();
        this.batchSize = batchSize;
        this.perStep = Math.multiplyExact(batchSize, accum);
        this.seed = seed;
    }

    /** Every index 0..n-1 once: the active set when no selection is made. */
    public static int[] all(int n) {
        int[] a = new int[n];
        for (int i = 0; i < n; i++) a[i] = i;
        return a;
    }

    public int examples() {
        return active.length;
    }

    public long stepsPerEpoch() {
        return (active.length + perStep - 1) / perStep;
    }

    public long totalSteps(int epochs) {
        return stepsPerEpoch() * epochs;
    }

    public int epochOf(long step) {
        return (int) (step / stepsPerEpoch());
    }

    /** The example indices of each micro-batch of a step (the last step of an epoch may be smaller). */
    public int[][] microBatches(long step) {
        int epoch = epochOf(step);
        if (epoch != cachedEpoch) {
            cachedOrder = epochOrder(active.length, seed, epoch);
            cachedEpoch = epoch;
        }
        int b0 = (int) ((step % stepsPerEpoch()) * perStep), n = Math.min(perStep, active.length - b0);
        int[][] micro = new int[(n + batchSize - 1) / batchSize][];
        for (int k = 0; k < micro.length; k++) {
            micro[k] = new int[Math.min(batchSize, n - k * batchSize)];
            for (int i = 0; i < micro[k].length; i++) micro[k][i] = active[cachedOrder[b0 + k * batchSize + i]];
        }
        return micro;
    }

    /** Positions 0..n-1 in the order of an epoch: a permutation seeded by (seed, epoch). */
    public static int[] epochOrder(int n, long seed, int epoch) {
        int[] order = all(n);
        SplittableRandom rnd = new SplittableRandom(seed * 1_000_003L + epoch);
        for (int i = n - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }
}
