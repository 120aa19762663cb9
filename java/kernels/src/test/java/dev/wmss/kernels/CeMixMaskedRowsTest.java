package dev.wmss.kernels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Masked rows, the way frameworks mask: runs of −inf and of the dtype's most negative finite value (−FLT_MAX, the
 * bf16 minimum) at the start, middle and end of rows longer than several of the CPU kernel's 2,048-element chunks
 * and of the CUDA plan's per-block chunks, in labelled and ignored rows, out of place and in place, on every
 * backend, against the float64 reference. (Regressions: an all −inf first chunk made the CPU kernel report a
 * finite row as non-finite; in place, ignored rows got lse = entropy = log V; the CUDA merge turned −FLT_MAX masks
 * into NaN.)
 */
public class CeMixMaskedRowsTest {
    static final int VOCAB = 3 * 2048 + 517;
    static final String[] BACKENDS = CeMixTest.withCpu("libtorch", "cuda-emulation:sm_90", "cuda-emulation:sm_80",
            "cuda-emulation:split-3", "cuda-emulation:split-8", "cuda-emulation:v1:split-3", "cuda-emulation:v2:split-16",
            "cuda-emulation:v3:split-16", "cuda-emulation:v3:in-place", "cuda-emulation:v4:split-5",
            "cuda-emulation:v5:split-37", "cuda-emulation:v5:split-2", "cuda-fused",
            "cuda-fused:in-place", "cuda-fused:v1", "cuda-fused:v3:in-place", "cuda-fused:v4", "cuda-fused:v5");

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String b : BACKENDS)
            for (DType dt : DType.values())
                for (float lambda : new float[]{0.42f, 1f})
                    out.add(Arguments.of(b, dt, lambda));
        return out;
    }

    @AfterAll
    static void restoreIsa() {
        Backend.setCpuIsa("auto");
    }

    static CeMixBackend backend(String name) {
        String[] parts = name.split(":");
        if (parts[0].equals("cuda-emulation") && parts.length == 3 && parts[2].startsWith("split-"))
            return CeMixTestBackends.withVariant(parts[1],
                    CeMixTestBackends.cudaEmulation(name, 132, 8, Integer.parseInt(parts[2].substring(6))));
        return switch (name) {
            case "cuda-emulation:split-3" -> CeMixTestBackends.cudaEmulation(name, 132, 8, 3);
            case "cuda-emulation:split-8" -> CeMixTestBackends.cudaEmulation(name, 132, 8, 8);
            default -> CeMixTest.backend(name);
        };
    }

    /** Masks [from, to) of row r in every input the mix reads (the label's entry stays). */
    static void mask(Problem p, int r, int from, int to, float value) {
        for (int v = from; v < to; v++) {
            if (v == p.label(r)) continue;
            p.strong.set(r, v, value);
            p.weak.set(r, v, value);
        }
    }

    static void setLabel(Problem p, int r, long y) {
        p.labels.setAtIndex(ValueLayout.JAVA_LONG, r, y);
    }

    @ParameterizedTest(name = "{0} {1} lambda={2}")
    @MethodSource("cases")
    public void maskedRowsMatchFloat64Reference(String name, DType dtype, float lambda) {
        CeMixBackend backend = backend(name);
        float lowest = dtype == DType.BF16 ? Bf16.toFloat((short) 0xFF7F) : -Float.MAX_VALUE;
        float ninf = Float.NEGATIVE_INFINITY;
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, dtype, 10, VOCAB, 3, lambda, 2.0, 97 + (long) (lambda * 100));
            int v = VOCAB;
            setLabel(p, 0, v - 1);
            mask(p, 0, 0, v, ninf);                       // everything -inf but the label at V-1: loss 0
            setLabel(p, 1, 5000);
            mask(p, 1, 0, 2 * 2048 + 100, ninf);          // -inf prefix over two whole chunks
            setLabel(p, 2, 10);
            mask(p, 2, 3000, 5000, ninf);                 // -inf run in the middle
            setLabel(p, 3, 100);
            mask(p, 3, v - 3000, v, ninf);                // -inf run at the end (the last chunk entirely)
            setLabel(p, 4, CeMix.IGNORE_INDEX);
            mask(p, 4, 0, 2048, ninf);                    // ignored row: statistics still computed (in place too)
            setLabel(p, 5, 4000);
            mask(p, 5, 0, 2048, lowest);                  // -FLT_MAX mask: a whole first chunk ...
            mask(p, 5, 3 * 2048, v, lowest);              // ... and a fully masked last chunk
            setLabel(p, 6, CeMix.IGNORE_INDEX);
            mask(p, 6, 0, v / 2, lowest);
            setLabel(p, 7, 7);
            for (int i = 1; i < v; i += 2) mask(p, 7, i, i + 1, lowest); // every other entry masked
            setLabel(p, 8, v - 1);
            mask(p, 8, 0, v, lowest);                     // everything masked but the label
            // row 9: unmasked
            Problem.Outputs ref = p.run(KernelBackends.ceMix("java"));
            if (name.equals("libtorch")) p.statSlack = 1 + VOCAB / 5000.0; // its fp32 entropy sum
            Problem.Outputs got = p.run(backend);
            p.assertClose(name, ref, got);
            for (int r = 0; r < p.rows; r++) {
                assertTrue(Float.isFinite(got.rowLoss()[r]) && Float.isFinite(got.lse()[r])
                        && Float.isFinite(got.entropy()[r]), name + " row " + r + " is finite");
            }
            assertEquals(0f, got.rowLoss()[0], 1e-6f, "only the label is possible");
            assertEquals(0f, got.entropy()[0], 1e-6f);
        }
    }
}
