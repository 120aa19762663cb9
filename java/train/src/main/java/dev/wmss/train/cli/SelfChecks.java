package dev.wmss.train.cli;

import dev.wmss.kernels.Bf16;
import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.CeMixBackend;
import dev.wmss.kernels.DType;
import dev.wmss.kernels.DeviceMemory;
import dev.wmss.kernels.KernelBackends;
import dev.wmss.kernels.Logits;
import dev.wmss.runtime.WmssTorch;
import dev.wmss.runtime.TorchModel;
import dev.wmss.train.data.Batch;
import dev.wmss.train.loop.Head;
import dev.wmss.train.loop.Placement;
import dev.wmss.train.loop.WdJtObjective;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The checks of {@code selfcheck}: each compares what this installation computes on its device with an independent
 * computation (the CPU, or float64) and returns one line. A failed comparison is a result, not an exception.
 */
final class SelfChecks {
    /** One check's outcome: its name, pass or fail, and what was measured. */
    record Result(String name, boolean pass, String detail) {
        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%-4s %-34s %s", pass ? "PASS" : "FAIL", name, detail);
        }
    }

    private SelfChecks() {}

    /** max |got − want| over max |want|: one number per output, scale-free. */
    static double relativeMax(float[] got, float[] want) {
        double num = 0, den = 1e-30;
        for (int i = 0; i < want.length; i++) {
            if (Float.isNaN(got[i]) != Float.isNaN(want[i])) return Double.POSITIVE_INFINITY;
            num = Math.max(num, Math.abs((double) got[i] - want[i]));
            den = Math.max(den, Math.abs(want[i]));
        }
        return num / den;
    }

    static double cosine(float[] a, float[] b) {
        double ab = 0, aa = 0, bb = 0;
        for (int i = 0; i < a.length; i++) {
            ab += (double) a[i] * b[i];
            aa += (double) a[i] * a[i];
            bb += (double) b[i] * b[i];
        }
        return ab / Math.sqrt(Math.max(aa * bb, 1e-300));
    }

    /**
     * The fused ce_mix on the device (CUDA when the placement is, else the CPU kernel) against the reference (the CPU
     * kernel, or the plain-Java float64 one when the device is the CPU), in place, on random logits with ignored
     * rows: loss, both gradients.
     */
    static Result ceMix(Placement where, DType dtype, int rows, int vocab, long seed) {
        String name = String.format(Locale.ROOT, "ce_mix %s %dx%d in place", dtype == DType.BF16 ? "bf16" : "fp32", rows, vocab);
        long bytes = (long) rows * vocab * dtype.bytes();
        try (Arena arena = Arena.ofConfined()) {
            SplittableRandom r = new SplittableRandom(seed);
            MemorySegment zs = arena.allocate(bytes, 16), zw = arena.allocate(bytes, 16);
            MemorySegment labels = arena.allocate(8L * rows, 8);
            for (long i = 0; i < (long) rows * vocab; i++) {
                float a = (float) (r.nextGaussian() * 3), b = (float) (r.nextGaussian() * 3);
                if (dtype == DType.BF16) {
                    zs.setAtIndex(ValueLayout.JAVA_SHORT, i, Bf16.fromFloat(a));
                    zw.setAtIndex(ValueLayout.JAVA_SHORT, i, Bf16.fromFloat(b));
                } else {
                    zs.setAtIndex(ValueLayout.JAVA_FLOAT, i, a);
                    zw.setAtIndex(ValueLayout.JAVA_FLOAT, i, b);
                }
            }
            for (int i = 0; i < rows; i++) labels.setAtIndex(ValueLayout.JAVA_LONG, i, i % 5 == 3 ? CeMix.IGNORE_INDEX : r.nextInt(vocab));
            // the reference on host copies
            MemorySegment rs = arena.allocate(bytes, 16).copyFrom(zs), rw = arena.allocate(bytes, 16).copyFrom(zw);
            Logits.Host hs = Logits.of(rs, dtype, rows, vocab), hw = Logits.of(rw, dtype, rows, vocab);
            CeMixBackend reference = where.cuda() ? KernelBackends.ceMix("cpu-fused") : KernelBackends.ceMix("java");
            double want = CeMix.of(hs, hw, labels).lambda(0.5f).invNorm(1f / rows).gradStrong(hs).gradWeak(hw).run(reference);
            double got;
            MemorySegment gs = arena.allocate(bytes, 16), gw = arena.allocate(bytes, 16);
            if (where.cuda()) {
                try (DeviceMemory ds = DeviceMemory.copyOf(zs); DeviceMemory dw = DeviceMemory.copyOf(zw);
                     DeviceMemory dl = DeviceMemory.copyOf(labels)) {
                    Logits.Device s = Logits.onDevice(ds, dtype, rows, vocab), w = Logits.onDevice(dw, dtype, rows, vocab);
                    got = CeMix.of(s, w, dl.segment()).lambda(0.5f).invNorm(1f / rows).gradStrong(s).gradWeak(w).run(KernelBackends.ceMix("cuda-fused"));
                    ds.copyTo(gs);
                    dw.copyTo(gw);
                }
            } else {
                gs.copyFrom(zs);
                gw.copyFrom(zw);
                Logits.Host s = Logits.of(gs, dtype, rows, vocab), w = Logits.of(gw, dtype, rows, vocab);
                got = CeMix.of(s, w, labels).lambda(0.5f).invNorm(1f / rows).gradStrong(s).gradWeak(w).run(KernelBackends.ceMix("cpu-fused"));
            }
            double eLoss = Math.abs(got - want) / Math.max(Math.abs(want), 1e-30);
            double eGrad = Math.max(relativeMax(floats(gs, dtype, rows * (long) vocab), floats(rs, dtype, rows * (long) vocab)),
                    relativeMax(floats(gw, dtype, rows * (long) vocab), floats(rw, dtype, rows * (long) vocab)));
            double tol = dtype == DType.BF16 ? 1.6e-2 : 1e-5; // bf16 outputs: within about two bf16 rounding steps
            return new Result(name, eLoss < 1e-5 && eGrad < tol, String.format(Locale.ROOT,
                    "%s vs %s: loss rel. error %.1e, gradients max rel. error %.1e (tolerance %.0e)",
                    where.cuda() ? "cuda-fused" : "cpu-fused", reference.name(), eLoss, eGrad, tol));
        } catch (RuntimeException e) {
            return new Result(name, false, e.toString());
        }
    }

    static float[] floats(MemorySegment s, DType dtype, long n) {
        float[] out = new float[(int) n];
        for (int i = 0; i < n; i++) {
            out[i] = dtype == DType.BF16 ? Bf16.toFloat(s.getAtIndex(ValueLayout.JAVA_SHORT, i)) : s.getAtIndex(ValueLayout.JAVA_FLOAT, i);
        }
        return out;
    }

    /** A small Qwen3-shaped config: vocab 512, hidden 64, 2 layers, grouped-query attention, untied head. */
    static String tinyConfig() {
        return """
                {"model_type": "qwen3", "vocab_size": 512, "hidden_size": 64, "intermediate_size": 160,
                 "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
                 "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": false}""";
    }

    /** A batch of random ids with left padding in one row and ignored targets. */
    static Batch batch(int b, int t, int vocab, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long[] ids = new long[b * t], mask = new long[b * t], labels = new long[b * t];
        for (int i = 0; i < b * t; i++) {
            ids[i] = r.nextInt(vocab);
            mask[i] = i / t == 1 && i % t < 3 ? 0 : 1;
        }
        for (int i = 0; i < b * t; i++) {
            boolean last = i % t == t - 1;
            labels[i] = mask[i] == 0 || last || i % 7 == 0 ? Batch.IGNORE_INDEX : ids[i + 1];
        }
        int[] ex = new int[b];
        for (int i = 0; i < b; i++) ex[i] = i;
        return new Batch(ids, mask, labels, ex, b, t);
    }

    /**
     * One WD-JT step (fused head, both models trained, joint clip, AdamW) on the placement against the same step in
     * fp32 on the CPU, from the same initial weights: the loss, and the update of one weight matrix (cosine of the
     * two updates; AdamW's first step is close to lr·sign(g), so bf16 flips the few near-zero gradients).
     */
    static Result wdjtStep(Placement where) {
        String name = "WD-JT step (" + where + ")";
        Batch b = batch(4, 48, 512, 7);
        String p = "model.layers.1.mlp.down_proj.weight";
        float[][] before = new float[2][], after = new float[2][];
        double[] loss = new double[2];
        Placement[] sides = {new Placement("cpu", DType.F32), where};
        try {
            for (int k = 0; k < 2; k++) {
                try (TorchModel s = sides[k].init(tinyConfig(), 11); TorchModel w = sides[k].init(tinyConfig(), 12);
                     Arena arena = Arena.ofConfined()) {
                    s.adamW(1e-3, 0.9, 0.999, 1e-8, 0.01);
                    w.adamW(1e-3, 0.9, 0.999, 1e-8, 0.01);
                    before[k] = s.parameter(p)[0].toArray(ValueLayout.JAVA_FLOAT);
                    WdJtObjective o = new WdJtObjective(s, w, 0.5f, false, new Head(Head.Mode.FUSED, 64L << 10), true);
                    loss[k] = o.microBatch(b, 1f / b.supervised(), arena, null);
                    o.step(1e-3, 1.0);
                    after[k] = s.parameter(p)[0].toArray(ValueLayout.JAVA_FLOAT);
                }
            }
        } catch (RuntimeException e) {
            return new Result(name, false, e.toString());
        }
        float[] du0 = new float[before[0].length], du1 = new float[before[0].length];
        for (int i = 0; i < du0.length; i++) {
            du0[i] = after[0][i] - before[0][i];
            du1[i] = after[1][i] - before[1][i];
        }
        boolean bf16 = where.precision() == DType.BF16;
        double eLoss = Math.abs(loss[1] - loss[0]) / Math.abs(loss[0]), cos = cosine(du1, du0);
        double tolLoss = bf16 ? 2e-2 : 1e-4, tolCos = bf16 ? 0.98 : 0.999;
        return new Result(name, eLoss < tolLoss && cos > tolCos, String.format(Locale.ROOT,
                "vs the CPU in fp32: loss %.6f vs %.6f (rel. error %.1e, tolerance %.0e); update of %s: cosine %.5f (> %.3f)",
                loss[1], loss[0], eLoss, tolLoss, p, cos, tolCos));
    }

    /**
     * Greedy generation (KV cache) on the device in fp32 against the CPU, token for token. The head's weights are
     * scaled up so that the argmax is never a near tie that rounding could flip.
     */
    static Result generation(Placement where) {
        String name = "generation (" + where.device() + ", fp32)";
        int[][] prompts = {{5, 9, 100, 7}, {42}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}};
        int[][][] made = new int[2][][];
        Placement[] sides = {new Placement("cpu", DType.F32), new Placement(where.device(), DType.F32)};
        try {
            for (int k = 0; k < 2; k++) {
                try (TorchModel m = TorchModel.init(tinyConfig(), 21)) {
                    MemorySegment head = m.parameter("lm_head.weight")[0];
                    for (long i = 0; i < head.byteSize() / 4; i++) {
                        head.setAtIndex(ValueLayout.JAVA_FLOAT, i, head.getAtIndex(ValueLayout.JAVA_FLOAT, i) * 40f);
                    }
                    if (k == 1) m.to(sides[1].device(), DType.F32);
                    made[k] = m.generate(prompts, 24, 64, -1);
                }
            }
        } catch (RuntimeException e) {
            return new Result(name, false, e.toString());
        }
        int same = 0, total = 0;
        for (int i = 0; i < prompts.length; i++) {
            for (int t = 0; t < Math.max(made[0][i].length, made[1][i].length); t++) {
                total++;
                if (t < made[0][i].length && t < made[1][i].length && made[0][i][t] == made[1][i][t]) same++;
            }
        }
        return new Result(name, same == total, same + " of " + total + " greedy tokens equal to the CPU's");
    }

    /**
     * A model saved by Hugging Face transformers (benchmarks/gpu/hf_reference.py: config.json, model.safetensors,
     * ids.bin [batch, seq] int64, logits.bin fp32, reference.json with the mean next-token loss and the gradient norm
     * of one backward) loaded here on the device in fp32: our logits, loss and gradient norm against theirs.
     */
    static Result hfReference(java.nio.file.Path dir, String device) {
        String name = "vs transformers: " + dir.getFileName() + " (" + device + ", fp32)";
        try (Arena arena = Arena.ofConfined()) {
            com.google.gson.JsonObject ref = com.google.gson.JsonParser.parseString(
                    java.nio.file.Files.readString(dir.resolve("reference.json"))).getAsJsonObject();
            int b = ref.get("batch").getAsInt(), t = ref.get("seq").getAsInt(), v = ref.get("vocab").getAsInt();
            byte[] idBytes = java.nio.file.Files.readAllBytes(dir.resolve("ids.bin"));
            byte[] zBytes = java.nio.file.Files.readAllBytes(dir.resolve("logits.bin"));
            MemorySegment ids = arena.allocate(idBytes.length, 8).copyFrom(MemorySegment.ofArray(idBytes));
            float[] want = MemorySegment.ofArray(zBytes).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
            long[] idArr = ids.toArray(ValueLayout.JAVA_LONG), labels = new long[b * t];
            int n = 0;
            for (int i = 0; i < b * t; i++) {
                labels[i] = i % t == t - 1 ? Batch.IGNORE_INDEX : idArr[i + 1];
                if (labels[i] != Batch.IGNORE_INDEX) n++;
            }
            MemorySegment lab = arena.allocateFrom(ValueLayout.JAVA_LONG, labels);
            try (TorchModel m = new Placement(device, DType.F32).load(dir)) {
                float[] got = m.forward(ids, null, b, t, false).data().asSlice(0, 4L * b * t * v).toArray(ValueLayout.JAVA_FLOAT);
                double eLogits = relativeMax(got, want);
                m.forwardHidden(ids, null, b, t, true);
                double loss = dev.wmss.runtime.FusedHead.of(m, null, lab, (long) b * t).invNorm(1f / n).run();
                double norm = m.gradNorm();
                double wantLoss = ref.get("loss").getAsDouble(), wantNorm = ref.get("grad_norm").getAsDouble();
                double eLoss = Math.abs(loss - wantLoss) / Math.abs(wantLoss), eNorm = Math.abs(norm - wantNorm) / Math.abs(wantNorm);
                return new Result(name, eLogits < 1e-4 && eLoss < 1e-5 && eNorm < 1e-4, String.format(Locale.ROOT,
                        "logits max rel. error %.1e; loss %.6f vs %.6f (%.1e); gradient norm %.6f vs %.6f (%.1e)",
                        eLogits, loss, wantLoss, eLoss, norm, wantNorm, eNorm));
            }
        } catch (java.io.IOException | RuntimeException e) {
            return new Result(name, false, e.toString());
        }
    }

    /** A few seconds of WD-JT steps of a small model: tokens per second on the placement. */
    static Result throughput(Placement where) {
        String cfg = """
                {"model_type": "qwen3", "vocab_size": 32000, "hidden_size": 512, "intermediate_size": 1536,
                 "num_hidden_layers": 4, "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 64,
                 "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": true}""";
        int bs = where.cuda() ? 8 : 2, seq = where.cuda() ? 512 : 128;
        String name = "WD-JT throughput " + bs + "x" + seq;
        try (TorchModel s = where.init(cfg, 1); TorchModel w = where.init(cfg, 2)) {
            s.adamW(1e-4, 0.9, 0.999, 1e-8, 0.0);
            w.adamW(1e-4, 0.9, 0.999, 1e-8, 0.0);
            WdJtObjective o = new WdJtObjective(s, w, 0.5f, false, new Head(Head.Mode.FUSED, where.defaultHeadChunkBytes()), true);
            Batch b = batch(bs, seq, 32000, 3);
            int steps = 0;
            long t0 = 0;
            while (true) {
                if (steps == 2) {
                    WmssTorch.synchronize(where.device());
                    t0 = System.nanoTime();
                }
                try (Arena arena = Arena.ofConfined()) {
                    o.microBatch(b, 1f / b.supervised(), arena, null);
                }
                o.step(1e-4, 1.0);
                steps++;
                if (steps > 2 && (System.nanoTime() - t0 > 3e9 || steps >= 50)) break;
            }
            WmssTorch.synchronize(where.device());
            double sec = (System.nanoTime() - t0) / 1e9;
            int timed = steps - 2;
            return new Result(name, true, String.format(Locale.ROOT, "%.0f tokens/s (%.1f ms per step, %d steps after 2 warm-up)",
                    timed * (double) bs * seq / sec, 1e3 * sec / timed, timed));
        } catch (RuntimeException e) {
            return new Result(name, false, e.toString());
        }
    }
}
