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

    /**
     * The seed of a stage's example order: the run's seed for SFT, a different one derived from it for WD-JT, so that
     * WD-JT's first epoch does not replay the order of the SFT epoch that made M1 from the same seed (the temperature
     * control orders as WD-JT does). An SFT stage after M1 that must see WD-JT's order uses seed ^ {@link #JOINT_SALT}.
     */
    public static long stageSeed(TrainConfig cfg) {
        return cfg.mode() == TrainConfig.Mode.SFT ? cfg.seed() : cfg.seed() ^ JOINT_SALT;
    }

    /** What WD-JT's order seed differs from the run's seed by ("WDJT"). */
    public static final long JOINT_SALT = 0x5744_4A54_0000_0000L;

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

    /**
     * Rank r's part of a step for W data-parallel ranks: of the step's n examples in order (those of
     * {@link #microBatches}), the contiguous slice [n·r/W, n·(r+1)/W), cut into micro-batches of the batch size.
     * The ranks' slices together are the single-process step (so --batch and --accum keep meaning the global
     * batch); a slice may be empty (n < W). For W = 1, the same as {@link #microBatches}.
     */
    public int[][] shard(long step, int rank, int world) {
        if (world < 1 || rank < 0 || rank >= world) throw new IllegalArgumentException("rank " + rank + " of " + world);
        int[][] all = microBatches(step);
        if (world == 1) return all;
        int n = 0;
        for (int[] m : all) n += m.length;
        int[] flat = new int[n];
        int at = 0;
        for (int[] m : all) {
            System.arraycopy(m, 0, flat, at, m.length);
            at += m.length;
        }
        int from = (int) ((long) n * rank / world), to = (int) ((long) n * (rank + 1) / world);
        int[][] micro = new int[(to - from + batchSize - 1) / batchSize][];
        for (int k = 0; k < micro.length; k++) {
            int lo = from + k * batchSize;
            micro[k] = java.util.Arrays.copyOfRange(flat, lo, Math.min(to, lo + batchSize));
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
