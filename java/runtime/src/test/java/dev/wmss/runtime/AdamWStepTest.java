package dev.wmss.runtime;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.*;

/**
 * The fused optimizer step (clipping, weight decay, AdamW moments, update and zeroed gradients in one pass) against
 * libtorch's clip_grad_norm_ + AdamW::step + zero_grad on the same gradients: the norms, the weights over several
 * steps with and without clipping, zeroed gradients, and optimizer state saved by one and loaded by the other.
 */
class AdamWStepTest {
    static final List<String> NAMES = List.of("model.embed_tokens.weight", "model.layers.0.self_attn.q_proj.weight",
            "model.layers.1.mlp.down_proj.weight", "model.norm.weight", "lm_head.weight");

    @AfterEach
    void fusedOpsBackOn() {
        WmssTorch.setFusedOps(true);
    }

    /** Every parameter's gradient set to the same pseudo-random values (scaled) in both models. */
    static void setGradients(TorchModel a, TorchModel b, long seed, float scale) {
        SplittableRandom r = new SplittableRandom(seed);
        for (String n : allNames(a)) {
            MemorySegment ga = a.parameter(n)[1], gb = b.parameter(n)[1];
            for (long i = 0; i < ga.byteSize() / 4; i++) {
                float g = (float) (r.nextGaussian() * scale);
                ga.setAtIndex(ValueLayout.JAVA_FLOAT, i, g);
                gb.setAtIndex(ValueLayout.JAVA_FLOAT, i, g);
            }
        }
    }

    static List<String> allNames(TorchModel m) {
        List<String> out = new java.util.ArrayList<>(List.of("model.embed_tokens.weight", "model.norm.weight", "lm_head.weight"));
        for (int l = 0; l < 2; l++) {
            for (String s : List.of("input_layernorm.weight", "self_attn.q_proj.weight", "self_attn.k_proj.weight",
                    "self_attn.v_proj.weight", "self_attn.o_proj.weight", "self_attn.q_norm.weight", "self_attn.k_norm.weight",
                    "post_attention_layernorm.weight", "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight")) {
                out.add("model.layers." + l + "." + s);
            }
        }
        return out;
    }

    static double step(TorchModel m, boolean fused, double lr, double clip) {
        WmssTorch.setFusedOps(fused);
        try {
            return m.step(lr, clip);
        } finally {
            WmssTorch.setFusedOps(true);
        }
    }

    static void sameWeights(TorchModel want, TorchModel got, String when) {
        for (String n : allNames(want)) {
            float[] w = want.parameter(n)[0].toArray(ValueLayout.JAVA_FLOAT), g = got.parameter(n)[0].toArray(ValueLayout.JAVA_FLOAT);
            for (int i = 0; i < w.length; i++) assertEquals(w[i], g[i], 2e-6 + 2e-6 * Math.abs(w[i]), when + ": " + n + "[" + i + "]");
        }
    }

    @Test
    void fusedStepEqualsLibtorchsAdamW(@TempDir Path tmp) {
        try (TorchModel ref = TorchModel.init(TorchModelTest.TINY, 3); TorchModel got = TorchModel.init(TorchModelTest.TINY, 3)) {
            ref.adamW(1e-2, 0.9, 0.95, 1e-8, 0.1);
            got.adamW(1e-2, 0.9, 0.95, 1e-8, 0.1);
            float[] scales = {1e-3f, 0.5f, 1e-3f}; // the middle step is clipped (norm far above 1)
            for (int s = 0; s < scales.length; s++) {
                setGradients(ref, got, s, scales[s]);
                WmssTorch.setFusedOps(false);
                double probeRef = ref.gradNorm(); // the norm the step will clip, through libtorch's ops
                WmssTorch.setFusedOps(true);
                double probe = got.gradNorm(), again = got.gradNorm(); // changes nothing
                assertEquals(probe, again, 0);
                assertEquals(probeRef, probe, 1e-5 * probe);
                double a = step(ref, false, 1e-2 * (s + 1), 1.0), b = step(got, true, 1e-2 * (s + 1), 1.0);
                assertEquals(a, b, 1e-5 * a, "gradient norm of step " + (s + 1));
                assertEquals(probe, b, 1e-6 * b, "gradNorm is the norm the fused step clips");
                assertEquals(probeRef, a, 1e-5 * a, "gradNorm is the norm libtorch's step clips");
                sameWeights(ref, got, "after step " + (s + 1));
                for (String n : NAMES) {
                    for (float g : got.parameter(n)[1].toArray(ValueLayout.JAVA_FLOAT)) assertEquals(0f, g, "zeroed " + n);
                }
            }
            // no clipping (max norm 0), then the state crosses over: saved by the fused step, loaded by libtorch's
            setGradients(ref, got, 7, 0.3f);
            assertEquals(step(ref, false, 5e-3, 0), step(got, true, 5e-3, 0), 1e-5);
            sameWeights(ref, got, "unclipped");
            got.saveOptimizer(tmp.resolve("fused.pt"));
            ref.saveOptimizer(tmp.resolve("ref.pt"));
            got.loadOptimizer(tmp.resolve("ref.pt"));
            ref.loadOptimizer(tmp.resolve("fused.pt"));
            setGradients(ref, got, 8, 0.01f);
            step(ref, false, 5e-3, 1.0);
            step(got, true, 5e-3, 1.0);
            sameWeights(ref, got, "after swapping the saved states");
        }
    }

    /**
     * The optimizer file is keyed by parameter name with host tensors (the same file for every device and libtorch
     * version): a state saved after two steps and loaded into a fresh model continues exactly as the model that
     * kept it in memory, and a model of another architecture is refused with the parameter named.
     */
    @Test
    void optimizerStateIsKeyedByParameterNameAndResumesExactly(@TempDir Path tmp) throws Exception {
        String cfg = TorchModelTest.TINY;
        try (TorchModel kept = TorchModel.init(cfg, 3); TorchModel resumed = TorchModel.init(cfg, 3)) {
            kept.adamW(1e-2, 0.9, 0.999, 1e-8, 0.01);
            resumed.adamW(1e-2, 0.9, 0.999, 1e-8, 0.01);
            for (int s = 0; s < 2; s++) {
                setGradients(kept, resumed, 20 + s, 0.1f);
                step(kept, true, 1e-2, 1.0);
                step(resumed, true, 1e-2, 1.0);
            }
            resumed.saveOptimizer(tmp.resolve("opt.pt"));
            resumed.save(tmp.resolve("model"));
            try (TorchModel fresh = TorchModel.load(tmp.resolve("model"))) {
                fresh.adamW(1e-2, 0.9, 0.999, 1e-8, 0.01);
                fresh.loadOptimizer(tmp.resolve("opt.pt"));
                setGradients(kept, fresh, 30, 0.1f);
                assertEquals(step(kept, true, 1e-2, 1.0), step(fresh, true, 1e-2, 1.0));
                for (String n : allNames(kept)) {
                    assertArrayEquals(kept.parameter(n)[0].toArray(ValueLayout.JAVA_FLOAT),
                            fresh.parameter(n)[0].toArray(ValueLayout.JAVA_FLOAT), n);
                }
            }
            String other = cfg.replace("\"tie_word_embeddings\": false", "\"tie_word_embeddings\": true");
            assertNotEquals(cfg, other);
            try (TorchModel tied = TorchModel.init(other, 3)) {
                tied.adamW(1e-2, 0.9, 0.999, 1e-8, 0.01);
                dev.wmss.kernels.error.WmssException e = assertThrows(dev.wmss.kernels.error.WmssException.class,
                        () -> tied.loadOptimizer(tmp.resolve("opt.pt")));
                assertTrue(e.getMessage().contains("lm_head.weight") && e.getMessage().contains("does not have"), e.getMessage());
            }
        }
    }
}
