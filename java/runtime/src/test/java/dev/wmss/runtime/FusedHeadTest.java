package dev.wmss.runtime;

import dev.wmss.kernels.CeMix;
import dev.wmss.kernels.CeMixArgs;
import dev.wmss.kernels.DType;
import dev.wmss.kernels.Entropy;
import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.LabelOutOfRangeException;
import dev.wmss.kernels.Logits;
import dev.wmss.kernels.error.ShapeMismatchException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The fused head against the full-logits path it replaces (forward to logits, ce_mix in place, backward from the
 * logits' gradient), on twin models initialised alike: losses, statistics, d loss / d hidden (against g·W computed
 * here in double from the full path's logit gradient), every parameter's gradient (head, tied embedding, body) and
 * the weights after one AdamW step. Tied and untied heads, a weak model of another width, padding and ignored rows,
 * chunk sizes that do not divide the rows, lambda 0 / 0.42 / 1, a frozen weak model, one model (SFT).
 */
class FusedHeadTest {
    static final int B = 2, T = 7, N = B * T, V = 50;

    static String config(boolean tied, int hidden, int heads) {
        return """
                {"model_type": "qwen3", "vocab_size": 50, "hidden_size": %d, "intermediate_size": 40,
                 "num_hidden_layers": 2, "num_attention_heads": %d, "num_key_value_heads": 1, "head_dim": 8,
                 "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": %b}""".formatted(hidden, heads, tied);
    }

    /** Models built alike for both paths: strong (width 32) and weak (width 24), seeds fixed. */
    record Pair(TorchModel strong, TorchModel weak) implements AutoCloseable {
        static Pair of(boolean tied, boolean withWeak) {
            return new Pair(TorchModel.init(config(tied, 32, 4), 11), withWeak ? TorchModel.init(config(tied, 24, 3), 12) : null);
        }

        @Override
        public void close() {
            strong.close();
            if (weak != null) weak.close();
        }
    }

    /** Token ids, a mask with left padding in the second example, and labels with ignored rows. */
    record Inputs(MemorySegment ids, MemorySegment mask, MemorySegment labels, long[] labelArray) {
        static Inputs make(Arena arena) {
            long[] ids = new long[N], mask = new long[N], labels = new long[N];
            for (int i = 0; i < N; i++) {
                ids[i] = (i * 17 + 3) % V;
                mask[i] = (i >= T && i < T + 2) ? 0 : 1;          // padding at the start of example 2
                labels[i] = (i % 5 == 0 || mask[i] == 0) ? CeMix.IGNORE_INDEX : (i * 31 + 7) % V;
            }
            return new Inputs(arena.allocateFrom(ValueLayout.JAVA_LONG, ids), arena.allocateFrom(ValueLayout.JAVA_LONG, mask),
                    arena.allocateFrom(ValueLayout.JAVA_LONG, labels), labels);
        }

        float invNorm() {
            long n = 0;
            for (long y : labelArray) if (y != CeMix.IGNORE_INDEX) n++;
            return 1f / n;
        }
    }

    /** What a step produced: scalar loss, per-row outputs, d loss / d hidden of each model. */
    record Outcome(double loss, float[] rowLoss, float[] entropy, double[] gradHiddenStrong, double[] gradHiddenWeak) {}

    static float[] floats(MemorySegment s, long n) {
        return s.asSlice(0, n * 4).toArray(ValueLayout.JAVA_FLOAT);
    }

    /** The full-logits path, and g·W (double) for d loss / d hidden of each model with a gradient. */
    static Outcome full(Pair p, Inputs in, float lambda, boolean frozenWeak, Arena arena) {
        Logits.Host zs = p.strong.forward(in.ids, in.mask, B, T, true);
        Logits.Host zw = p.weak == null ? zs : p.weak.forward(in.ids, in.mask, B, T, !frozenWeak);
        MemorySegment rowLoss = arena.allocate(4 * N, 8), ent = arena.allocate(4 * N, 8);
        CeMixArgs.Builder call = CeMix.of(zs, zw, in.labels).lambda(lambda).invNorm(in.invNorm()).gradStrong(zs)
                .rowLoss(rowLoss).entropy(ent);
        if (p.weak != null && !frozenWeak) call.gradWeak(zw);
        double loss = call.run();
        double[] ghs = gTimesW(zs, p.strong), ghw = p.weak != null && !frozenWeak ? gTimesW(zw, p.weak) : null;
        p.strong.backward(zs);
        if (p.weak != null && !frozenWeak) p.weak.backward(zw);
        return new Outcome(loss, floats(rowLoss, N), floats(ent, N), ghs, ghw);
    }

    static double[] gTimesW(Logits.Host g, TorchModel m) {
        float[] w = m.parameter(headName(m))[0].toArray(ValueLayout.JAVA_FLOAT);
        int h = w.length / V;
        double[] out = new double[N * h];
        for (int r = 0; r < N; r++) {
            for (int v = 0; v < V; v++) {
                double gv = g.get(r, v);
                for (int k = 0; k < h; k++) out[r * h + k] += gv * w[v * h + k];
            }
        }
        return out;
    }

    static String headName(TorchModel m) {
        try {
            m.parameter("lm_head.weight");
            return "lm_head.weight";
        } catch (InvalidArgumentException tied) {
            return "model.embed_tokens.weight";
        }
    }

    static Outcome fused(Pair p, Inputs in, float lambda, boolean frozenWeak, long chunkRows, Arena arena) {
        TorchModel.Hidden hs = p.strong.forwardHidden(in.ids, in.mask, B, T, true);
        TorchModel.Hidden hw = p.weak == null ? null : p.weak.forwardHidden(in.ids, in.mask, B, T, !frozenWeak);
        int models = p.weak == null ? 1 : 2;
        MemorySegment rowLoss = arena.allocate(4 * N, 8), ent = arena.allocate(4 * N, 8);
        MemorySegment ghs = arena.allocate(4 * N * hs.width(), 8);
        MemorySegment ghw = hw == null ? null : arena.allocate(4 * N * hw.width(), 8);
        FusedHead.Builder call = FusedHead.of(p.strong, p.weak, in.labels, N).lambda(lambda).invNorm(in.invNorm())
                .chunkBytes(chunkRows * V * 4 * models).rowLoss(rowLoss).entropy(ent).gradHiddenStrong(ghs, hs.width());
        if (hw != null && !frozenWeak) call.gradHiddenWeak(ghw, hw.width());
        double loss = call.run();
        return new Outcome(loss, floats(rowLoss, N), floats(ent, N), toDouble(floats(ghs, N * hs.width())),
                hw != null && !frozenWeak ? toDouble(floats(ghw, N * hw.width())) : null);
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }

    static void close(double[] want, double[] got, double atol, double rtol, String what) {
        assertEquals(want.length, got.length, what + " length");
        double scale = 0;
        for (double w : want) scale = Math.max(scale, Math.abs(w));
        for (int i = 0; i < want.length; i++) {
            assertEquals(want[i], got[i], atol * scale + rtol * Math.abs(want[i]), what + "[" + i + "] (max |x| " + scale + ")");
        }
    }

    static void close(float[] want, float[] got, double atol, double rtol, String what) {
        close(toDouble(want), toDouble(got), atol, rtol, what);
    }

    static List<String> names(TorchModel m) {
        List<String> out = new ArrayList<>(List.of("model.embed_tokens.weight", "model.norm.weight"));
        for (int l = 0; l < 2; l++) {
            for (String s : List.of("input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                    "self_attn.v_proj.weight", "self_attn.o_proj.weight", "self_attn.q_norm.weight", "self_attn.k_norm.weight",
                    "post_attention_layernorm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight")) {
                out.add("model.layers." + l + "." + s);
            }
        }
        if (headName(m).equals("lm_head.weight")) out.add("lm_head.weight");
        return out;
    }

    static void sameGradients(TorchModel want, TorchModel got, String role) {
        for (String n : names(want)) {
            close(want.parameter(n)[1].toArray(ValueLayout.JAVA_FLOAT), got.parameter(n)[1].toArray(ValueLayout.JAVA_FLOAT),
                    2e-5, 2e-4, role + " grad " + n);
        }
    }

    /**
     * After one AdamW step at lr: the first step moves a weight by about lr·g/(|g| + eps), which amplifies the fp32
     * noise of gradients near eps, so the weights are compared to a hundredth of lr.
     */
    static void sameWeights(TorchModel want, TorchModel got, String role, double lr) {
        for (String n : names(want)) {
            float[] w = want.parameter(n)[0].toArray(ValueLayout.JAVA_FLOAT), g = got.parameter(n)[0].toArray(ValueLayout.JAVA_FLOAT);
            for (int i = 0; i < w.length; i++) assertEquals(w[i], g[i], lr / 100, role + " weight " + n + "[" + i + "]");
        }
    }

    static void assertNoGradient(TorchModel m, String role) {
        for (String n : names(m)) {
            for (float g : m.parameter(n)[1].toArray(ValueLayout.JAVA_FLOAT)) assertEquals(0f, g, role + " " + n + " has a gradient");
        }
    }

    static Stream<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (boolean tied : new boolean[]{false, true}) {
            for (float lambda : new float[]{0f, 0.42f, 1f}) {
                for (long chunk : new long[]{1, 3, 1000}) out.add(Arguments.of(tied, lambda, chunk));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "tied={0} lambda={1} chunk rows={2}")
    @MethodSource("cases")
    void matchesTheFullLogitsPath(boolean tied, float lambda, long chunkRows) {
        compare(tied, lambda, chunkRows, true, false);
    }

    @ParameterizedTest(name = "frozen weak, tied={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void frozenWeakGetsNoGradient(boolean tied) {
        compare(tied, 0.42f, 4, true, true);
    }

    @ParameterizedTest(name = "one model (SFT), tied={0}")
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void oneModelIsSft(boolean tied) {
        compare(tied, 1f, 5, false, false);
    }

    void compare(boolean tied, float lambda, long chunkRows, boolean withWeak, boolean frozenWeak) {
        try (Arena arena = Arena.ofConfined(); Pair ref = Pair.of(tied, withWeak); Pair got = Pair.of(tied, withWeak)) {
            Inputs in = Inputs.make(arena);
            if (frozenWeak) {
                ref.weak.setTrainable(false);
                got.weak.setTrainable(false);
            }
            Outcome want = full(ref, in, lambda, frozenWeak, arena);
            Outcome have = fused(got, in, lambda, frozenWeak, chunkRows, arena);
            assertEquals(want.loss, have.loss, 1e-5 * Math.abs(want.loss), "loss");
            close(want.rowLoss, have.rowLoss, 1e-6, 1e-5, "row loss");
            close(want.entropy, have.entropy, 1e-6, 1e-5, "mixed entropy");
            close(want.gradHiddenStrong, have.gradHiddenStrong, 2e-5, 1e-4, "strong d loss / d hidden");
            if (want.gradHiddenWeak != null) close(want.gradHiddenWeak, have.gradHiddenWeak, 2e-5, 1e-4, "weak d loss / d hidden");
            sameGradients(ref.strong, got.strong, "strong");
            if (withWeak && !frozenWeak) sameGradients(ref.weak, got.weak, "weak");
            if (frozenWeak) assertNoGradient(got.weak, "frozen weak");
            // one AdamW step on both paths (a frozen model takes none): the weights stay equal
            for (Pair p : List.of(ref, got)) {
                p.strong.adamW(1e-3, 0.9, 0.999, 1e-8, 0.01);
                p.strong.step(1e-3, 1.0);
                if (withWeak && !frozenWeak) {
                    p.weak.adamW(1e-3, 0.9, 0.999, 1e-8, 0.01);
                    p.weak.step(1e-3, 1.0);
                }
            }
            sameWeights(ref.strong, got.strong, "strong", 1e-3);
            if (withWeak) sameWeights(ref.weak, got.weak, "weak", 1e-3);
        }
    }

    @Test
    void gradientsAccumulateOverMicroBatchesAndBackwardCanBeSeparate() {
        try (Arena arena = Arena.ofConfined(); Pair ref = Pair.of(true, true); Pair got = Pair.of(true, true)) {
            Inputs in = Inputs.make(arena);
            full(ref, in, 0.5f, false, arena);
            full(ref, in, 0.5f, false, arena);
            fused(got, in, 0.5f, false, 3, arena);
            // the second micro-batch stops at d loss / d hidden and goes back through the bodies separately
            TorchModel.Hidden hs = got.strong.forwardHidden(in.ids, in.mask, B, T, true);
            TorchModel.Hidden hw = got.weak.forwardHidden(in.ids, in.mask, B, T, true);
            MemorySegment ghs = arena.allocate(4 * N * hs.width(), 8), ghw = arena.allocate(4 * N * hw.width(), 8);
            FusedHead.of(got.strong, got.weak, in.labels, N).invNorm(in.invNorm()).chunkBytes(2 * V * 4 * 2)
                    .gradHiddenStrong(ghs, hs.width()).gradHiddenWeak(ghw, hw.width()).backward(false).run();
            got.strong.backwardHidden(ghs);
            got.weak.backwardHidden(ghw);
            sameGradients(ref.strong, got.strong, "strong");
            sameGradients(ref.weak, got.weak, "weak");
            InvalidArgumentException twice = assertThrows(InvalidArgumentException.class, () -> got.strong.backwardHidden(ghs));
            assertTrue(twice.getMessage().contains("no forward_hidden with gradients"), twice.getMessage());
        }
    }

    @Test
    void diagnosticsEqualThoseOfTheFullLogits() {
        try (Arena arena = Arena.ofConfined(); Pair p = Pair.of(false, true)) {
            Inputs in = Inputs.make(arena);
            Logits.Host zs = p.strong.forward(in.ids, in.mask, B, T, false);
            Logits.Host zw = p.weak.forward(in.ids, in.mask, B, T, false);
            MemorySegment hs = arena.allocate(4 * N, 8), hw = arena.allocate(4 * N, 8);
            Entropy.of(zs, hs).run();
            Entropy.of(zw, hw).run();
            double[] nonTarget = new double[N], gradSq = new double[N];
            for (int r = 0; r < N; r++) {
                double sum = 0;
                for (int v = 0; v < V; v++) sum += zs.get(r, v);
                long y = in.labelArray[r];
                nonTarget[r] = y == CeMix.IGNORE_INDEX ? sum / V : (sum - zs.get(r, (int) y)) / (V - 1);
            }
            float lambda = 0.42f;
            CeMix.of(zs, zw, in.labels).lambda(lambda).invNorm(in.invNorm()).gradStrong(zs).run();
            for (int r = 0; r < N; r++) for (int v = 0; v < V; v++) gradSq[r] += (double) zs.get(r, v) * zs.get(r, v);

            p.strong.forwardHidden(in.ids, in.mask, B, T, false);
            p.weak.forwardHidden(in.ids, in.mask, B, T, false);
            MemorySegment es = arena.allocate(4 * N, 8), ew = arena.allocate(4 * N, 8), nt = arena.allocate(4 * N, 8);
            MemorySegment gs = arena.allocate(4 * N, 8);
            FusedHead.of(p.strong, p.weak, in.labels, N).lambda(lambda).invNorm(in.invNorm()).chunkBytes(4 * V * 4 * 2)
                    .entropyStrong(es).entropyWeak(ew).nonTargetLogitStrong(nt).gradSquaredStrong(gs).run();
            close(floats(hs, N), floats(es, N), 1e-6, 1e-5, "strong entropy");
            close(floats(hw, N), floats(ew, N), 1e-6, 1e-5, "weak entropy");
            close(nonTarget, toDouble(floats(nt, N)), 1e-5, 1e-4, "non-target logit");
            close(gradSq, toDouble(floats(gs, N)), 1e-6, 1e-4, "squared gradient of the strong logits");
            assertNoGradient(p.strong, "no-grad forward");
        }
    }

    /** A vocabulary over two of the fused head's 32,768-row gradient slices (and a short third), several chunks. */
    @Test
    void headGradientInVocabularySlicesMatchesTheFullPath() {
        int v = 70_001, n = 6;
        String cfg = """
                {"model_type": "qwen3", "vocab_size": %d, "hidden_size": 8, "intermediate_size": 8,
                 "num_hidden_layers": 1, "num_attention_heads": 1, "num_key_value_heads": 1, "head_dim": 8,
                 "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": true}""".formatted(v);
        try (Arena arena = Arena.ofConfined();
             TorchModel refS = TorchModel.init(cfg, 21); TorchModel refW = TorchModel.init(cfg, 22);
             TorchModel gotS = TorchModel.init(cfg, 21); TorchModel gotW = TorchModel.init(cfg, 22)) {
            long[] idArray = new long[n], maskArray = new long[n], labelArray = new long[n];
            for (int i = 0; i < n; i++) {
                idArray[i] = (i * 24_571L + 5) % v;
                maskArray[i] = 1;
                labelArray[i] = i == 2 ? CeMix.IGNORE_INDEX : (i * 33_331L + 69_000) % v; // labels in every slice
            }
            MemorySegment ids = arena.allocateFrom(ValueLayout.JAVA_LONG, idArray);
            MemorySegment mask = arena.allocateFrom(ValueLayout.JAVA_LONG, maskArray);
            MemorySegment labels = arena.allocateFrom(ValueLayout.JAVA_LONG, labelArray);
            MemorySegment wantLoss = arena.allocate(4L * n, 8), haveLoss = arena.allocate(4L * n, 8);
            Logits.Host zs = refS.forward(ids, mask, 1, n, true), zw = refW.forward(ids, mask, 1, n, true);
            CeMix.of(zs, zw, labels).lambda(0.42f).invNorm(0.2f).gradStrong(zs).gradWeak(zw).rowLoss(wantLoss).run();
            refS.backward(zs);
            refW.backward(zw);
            gotS.forwardHidden(ids, mask, 1, n, true);
            gotW.forwardHidden(ids, mask, 1, n, true);
            assertArrayEquals(new long[]{2, 3}, FusedHead.plan(n, v, 2, 2L * v * 4 * 2));
            FusedHead.of(gotS, gotW, labels, n).lambda(0.42f).invNorm(0.2f).chunkBytes(2L * v * 4 * 2).rowLoss(haveLoss).run();
            close(floats(wantLoss, n), floats(haveLoss, n), 1e-6, 1e-5, "row loss");
            for (TorchModel[] p : new TorchModel[][]{{refS, gotS}, {refW, gotW}}) {
                for (String name : List.of("model.embed_tokens.weight", "model.layers.0.mlp.down_proj.weight")) {
                    close(p[0].parameter(name)[1].toArray(ValueLayout.JAVA_FLOAT),
                            p[1].parameter(name)[1].toArray(ValueLayout.JAVA_FLOAT), 2e-5, 2e-4, "grad " + name);
                }
            }
        }
    }

    @Test
    void chunkingFollowsTheBudget() {
        assertArrayEquals(new long[]{3, 5}, FusedHead.plan(14, V, 2, 3 * V * 4 * 2));
        assertArrayEquals(new long[]{3, 5}, FusedHead.plan(14, V, 2, 3 * V * 4 * 2 + 399)); // rounds down
        assertArrayEquals(new long[]{1, 14}, FusedHead.plan(14, V, 2, 1));                 // at least one row
        assertArrayEquals(new long[]{14, 1}, FusedHead.plan(14, V, 1, FusedHead.DEFAULT_CHUNK_BYTES));
        // the default keeps a chunk of two Qwen-sized vocabularies within 320 MiB: 256 rows, 276 would fit
        long[] qwen = FusedHead.plan(8192, 151936, 2, FusedHead.DEFAULT_CHUNK_BYTES);
        assertArrayEquals(new long[]{256, 32}, qwen);
        assertTrue(qwen[0] * 151936L * 4 * 2 <= FusedHead.DEFAULT_CHUNK_BYTES);
        // a multiple of 32 rows once 64 fit (220 fit here), never more than the budget, never for one chunk
        assertArrayEquals(new long[]{192, 11}, FusedHead.plan(2048, 151936, 2, 256L << 20));
        assertArrayEquals(new long[]{64, 2}, FusedHead.plan(100, V, 2, 70L * V * 4 * 2));
        assertArrayEquals(new long[]{63, 2}, FusedHead.plan(100, V, 2, 63L * V * 4 * 2));
        assertArrayEquals(new long[]{100, 1}, FusedHead.plan(100, V, 2, 100L * V * 4 * 2));
    }

    @Test
    void badInputGetsTypedErrors() {
        try (Arena arena = Arena.ofConfined(); Pair p = Pair.of(false, true); TorchModel other = TorchModel.init(
                config(false, 32, 4).replace("\"vocab_size\": 50", "\"vocab_size\": 51"), 3)) {
            Inputs in = Inputs.make(arena);
            InvalidArgumentException zero = assertThrows(InvalidArgumentException.class,
                    () -> FusedHead.of(p.strong, p.weak, in.labels, N).chunkBytes(0));
            assertTrue(zero.getMessage().contains("chunk budget"), zero.getMessage());
            InvalidArgumentException nativeZero = assertThrows(InvalidArgumentException.class, () -> FusedHead.plan(N, V, 2, 0));
            assertTrue(nativeZero.getMessage().contains("chunk budget must be > 0"), nativeZero.getMessage());

            InvalidArgumentException noForward = assertThrows(InvalidArgumentException.class,
                    () -> FusedHead.of(p.strong, p.weak, in.labels, N).run());
            assertTrue(noForward.getMessage().contains("forward_hidden first"), noForward.getMessage());

            p.strong.forwardHidden(in.ids, in.mask, B, T, true);
            p.weak.forwardHidden(in.ids, in.mask, B, T, true);
            ShapeMismatchException rows = assertThrows(ShapeMismatchException.class,
                    () -> FusedHead.of(p.strong, p.weak, in.labels, N - 1).run());
            assertTrue(rows.getMessage().contains("rows = 13") && rows.getMessage().contains("14 rows"), rows.getMessage());
            assertThrows(ShapeMismatchException.class, () -> FusedHead.of(p.strong, p.weak, in.labels, N + 1));
            assertThrows(ShapeMismatchException.class,
                    () -> FusedHead.of(p.strong, p.weak, in.labels, N).rowLoss(arena.allocate(4 * (N - 1))));

            other.forwardHidden(in.ids, in.mask, B, T, true);
            ShapeMismatchException vocab = assertThrows(ShapeMismatchException.class,
                    () -> FusedHead.of(p.strong, other, in.labels, N).run());
            assertTrue(vocab.getMessage().contains("vocabulary"), vocab.getMessage());

            InvalidArgumentException lambda = assertThrows(InvalidArgumentException.class,
                    () -> FusedHead.of(p.strong, null, in.labels, N).lambda(0.5f).run());
            assertTrue(lambda.getMessage().contains("lambda = 1"), lambda.getMessage());

            MemorySegment bad = arena.allocate(8L * N, 8);
            MemorySegment.copy(in.labels, 0, bad, 0, 8L * N);
            bad.setAtIndex(ValueLayout.JAVA_LONG, 9, V);
            LabelOutOfRangeException label = assertThrows(LabelOutOfRangeException.class,
                    () -> FusedHead.of(p.strong, p.weak, bad, N).chunkBytes(V * 8).run());
            assertTrue(label.getMessage().contains("labels[9] = 50"), label.getMessage());
            assertNoGradient(p.strong, "after a refused call"); // checked before any chunk ran
            // the refused calls left the graphs in place: a good call still works
            double loss = FusedHead.of(p.strong, p.weak, in.labels, N).invNorm(in.invNorm()).run();
            assertTrue(loss > 0 && Double.isFinite(loss));
        }
    }

    @Test
    void withoutGraphOnlyStatisticsAreComputed() {
        try (Arena arena = Arena.ofConfined(); Pair p = Pair.of(true, false)) {
            Inputs in = Inputs.make(arena);
            Logits.Host z = p.strong.forward(in.ids, in.mask, B, T, false);
            double want = CeMix.of(z, z, in.labels).lambda(1f).invNorm(1f).run();
            p.strong.forwardHidden(in.ids, in.mask, B, T, false);
            double got = FusedHead.of(p.strong, null, in.labels, N).invNorm(1f).run();
            assertEquals(want, got, 1e-5 * Math.abs(want));
            assertNoGradient(p.strong, "evaluation");
            InvalidArgumentException e = assertThrows(InvalidArgumentException.class, () -> FusedHead.of(p.strong, null,
                    in.labels, N).gradHiddenStrong(arena.allocate(4L * N * 32), 32).run());
            assertTrue(e.getMessage().contains("needs a strong forward_hidden with gradients"), e.getMessage());
            assertEquals(DType.F32, z.dtype());
        }
    }
}
