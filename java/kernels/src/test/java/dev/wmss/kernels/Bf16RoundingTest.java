package dev.wmss.kernels;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * What the kernels promise for bf16 outputs, bit for bit: a bf16 gradient is the fp32 gradient of the same problem
 * rounded to nearest even. The bf16 inputs widen to fp32 exactly and both dtypes share the fp32 arithmetic, so a run
 * on the widened fp32 copy gives the value before rounding. (A tolerance of one bf16 ulp, which the reference
 * comparisons must allow, lets a kernel truncate instead, biasing every gradient toward zero.) On every ISA this
 * machine has, for the fused kernel (out of place, in place) and the unfused baseline; the CUDA algorithm's host
 * emulation too.
 */
@ParameterizedClass(name = "isa {0}")
@ValueSource(strings = {"avx512bf16", "avx512", "avx2", "sse2"})
class Bf16RoundingTest {
    @Parameter
    String isa;

    @BeforeEach
    void selectIsa() {
        CpuIsa.select(isa);
    }

    @AfterAll
    static void restoreIsa() {
        Backend.setCpuIsa("auto");
    }

    /** The bf16 bits nearest to f, ties to the even one: chosen by comparing the two candidates' distances. */
    static int nearestEven(float f) {
        int bits = Float.floatToRawIntBits(f), lo = bits & 0xFFFF0000, hi = lo + 0x10000;
        double dLo = Math.abs((double) Float.intBitsToFloat(lo) - f), dHi = Math.abs((double) Float.intBitsToFloat(hi) - f);
        if (dLo != dHi) return (dLo < dHi ? lo : hi) >>> 16;
        return ((lo >>> 16) & 1) == 0 ? lo >>> 16 : hi >>> 16;
    }

    @Test
    void theJavaConversionRoundsToNearestEven() {
        // exact ties both ways, values just off a tie, negative numbers, a carry into the exponent
        for (int bits : new int[]{0x3F808000, 0x3F818000, 0x3F807FFF, 0x3F808001, 0xBF808000, 0xBF818000, 0x3FFF8000,
                0x3F7FFFFF, 0x00008000, 0x00018000}) {
            float f = Float.intBitsToFloat(bits);
            assertEquals(nearestEven(f), Bf16.fromFloat(f) & 0xFFFF, Integer.toHexString(bits));
        }
    }

    @Test
    void bf16GradientsAreTheFp32GradientsRoundedToNearestEven() {
        List<CeMixBackend> backends = List.of(KernelBackends.ceMix("cpu-fused"),
                CeMixTestBackends.inPlace(KernelBackends.ceMix("cpu-fused")), KernelBackends.ceMix("cpu-unfused"),
                CeMixTestBackends.cudaEmulation("cuda-emulation", 132, 8, 0));
        // odd vocabularies (vector remainders), a padded stride, several chunks; lambda away from 0.5
        for (int[] shape : new int[][]{{7, 1001}, {5, 4099}, {3, 37}}) {
            try (Arena arena = Arena.ofConfined()) {
                int rows = shape[0], vocab = shape[1];
                Problem b16 = new Problem(arena, DType.BF16, rows, vocab, 3, 0.3f, 2.0, 41L * vocab + rows);
                Problem f32 = new Problem(arena, DType.F32, rows, vocab, 3, 0.3f, 2.0, 41L * vocab + rows);
                for (int r = 0; r < rows; r++) {
                    for (int v = 0; v < vocab; v++) {
                        f32.strong.set(r, v, b16.strong.get(r, v)); // exact: every bf16 is a float
                        f32.weak.set(r, v, b16.weak.get(r, v));
                    }
                }
                for (CeMixBackend b : backends) {
                    Problem.Outputs wide = f32.run(b), narrow = b16.run(b);
                    String what = isa + " " + b.name() + " " + rows + "x" + vocab;
                    int checked = 0;
                    for (int i = 0; i < wide.gs().length; i++) {
                        checked += same(what + " gradStrong", i / vocab, i % vocab, wide.gs()[i], narrow.gs()[i]);
                        checked += same(what + " gradWeak", i / vocab, i % vocab, wide.gw()[i], narrow.gw()[i]);
                    }
                    assertEquals(2 * rows * vocab, checked, what);
                    // the premise, on the CPU kernels: both dtypes share the fp32 arithmetic (their fp32 outputs agree)
                    for (int r = 0; r < rows && !b.name().startsWith("cuda"); r++) {
                        assertEquals(wide.rowLoss()[r], narrow.rowLoss()[r], 0f, what + " loss of row " + r + " (fp32 in both)");
                    }
                }
            }
        }
    }

    /** 1 after checking that the bf16 output is the fp32 one rounded to nearest even. */
    private static int same(String what, int r, int v, float wide, float narrow) {
        int want = nearestEven(wide), got = Float.floatToRawIntBits(narrow) >>> 16;
        if (want != got) {
            fail(what + " [" + r + ", " + v + "]: bf16 0x" + Integer.toHexString(got) + " (" + narrow + "), fp32 " + wide
                    + " rounds to 0x" + Integer.toHexString(want));
        }
        return 1;
    }
}
