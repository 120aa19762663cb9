package dev.wmss.kernels;

import dev.wmss.kernels.MixCrossEntropy.Variant;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * ce_mix, every CPU variant and the unfused baseline, against the plain-Java float64 reference on random inputs:
 * odd vocab sizes (1, 7, 1000, 32003, 151936), ignored rows, padded strides, λ ∈ {0, 0.3, 0.5, 1}, fp32 and bf16.
 */
class CeMixTest {
    static final int[][] SHAPES = {{9, 1}, {13, 7}, {37, 1000}, {6, 32003}, {3, 151936}};
    static final float[] LAMBDAS = {0f, 0.3f, 0.5f, 1f};

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String isa : new String[]{"avx512bf16", "avx512", "avx2", "sse2"})
            for (DType dt : DType.values())
                for (int[] s : SHAPES)
                    for (float lambda : LAMBDAS)
                        // the largest shapes only with the default lambda, to keep the suite fast
                        if (s[1] < 32003 || lambda == 0.5f || (lambda == 0f && isa.equals("avx2")))
                            out.add(Arguments.of(isa, dt, s[0], s[1], lambda));
        return out;
    }

    @AfterAll
    static void restoreIsa() {
        Backend.setCpuIsa("auto");
    }

    @ParameterizedTest(name = "{0} {1} rows={2} vocab={3} lambda={4}")
    @MethodSource("cases")
    void fusedAndUnfusedMatchFloat64Reference(String isa, DType dtype, int rows, int vocab, float lambda) {
        try {
            Backend.setCpuIsa(isa);
        } catch (BackendUnavailableException e) {
            assumeTrue(false, "this CPU lacks " + isa);
        }
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, dtype, rows, vocab, vocab % 3, lambda, 3.0, 31L * rows + vocab);
            Problem.Outputs ref = p.run(Variant.JAVA);
            p.assertClose(isa + " fused", ref, p.run(Variant.FUSED));
            p.assertClose(isa + " unfused", ref, p.run(Variant.UNFUSED));
        }
    }
}
