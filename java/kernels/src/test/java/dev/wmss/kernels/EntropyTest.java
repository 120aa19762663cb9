package dev.wmss.kernels;

import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.error.LabelOutOfRangeException;
import dev.wmss.kernels.error.NonFiniteException;
import dev.wmss.kernels.error.Status;
import dev.wmss.kernels.ffi.WmssH;
import dev.wmss.kernels.ffi.wmss_entropy_args;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The entropy op (WD-DS) on every backend against its float64 reference ("java"), which is itself checked against
 * ce_mix's independent reference at lambda = 1: the CPU kernel in every ISA (its edge cases too), the CUDA algorithm's host emulation (sm_90, sm_80,
 * each variant) and, where a GPU exists, the CUDA kernel. Odd vocab sizes, padded strides, ignored rows, with and
 * without labels, fp32 and bf16; outputs poisoned before every run.
 */
class EntropyTest {
    static final int[][] SHAPES = {{9, 1}, {13, 7}, {21, 1000}, {4, 32003}, {3, 151936}};
    static final String[] BACKENDS = {"cpu:avx512bf16", "cpu:avx512", "cpu:avx2", "cpu:sse2", "cuda-emulation:sm_90", "cuda-emulation:sm_80", "cuda-emulation:v1",
            "cuda-emulation:v3", "cuda-emulation:v5", "cuda", "cuda:v5"};

    static List<Arguments> cases() {
        List<Arguments> out = new ArrayList<>();
        for (String b : BACKENDS)
            for (DType dt : DType.values())
                for (int[] s : SHAPES)
                    for (boolean labels : new boolean[]{true, false})
                        if (labels || s[1] == 1000) out.add(Arguments.of(b, dt, s[0], s[1], labels));
        return out;
    }

    @AfterAll
    static void autoVariant() {
        CeMixTestBackends.setVariant("auto");
        Backend.setCpuIsa("auto");
    }

    /** The CPU kernel in each ISA this machine has ("cpu:ISA"), then the host backends named. */
    static List<String> hostNames(String... others) {
        List<String> out = new ArrayList<>();
        for (String isa : CpuIsa.available()) out.add("cpu:" + isa);
        out.addAll(List.of(others));
        return out;
    }

    /** A backend by name: "cpu" (the automatic ISA) or "cpu:ISA" (skipped where this CPU lacks it), "java", CUDA's. */
    static EntropyBackend backend(String name) {
        String[] parts = name.split(":");
        Backend.setCpuIsa("auto");
        if (parts[0].equals("cpu")) {
            if (parts.length == 2) CpuIsa.select(parts[1]);
            return KernelBackends.entropy("cpu");
        }
        if (parts[0].equals("cuda")) {
            assumeTrue(Backend.current().cudaUsable(), "no CUDA here: " + Backend.current().cudaStatus());
        }
        CeMixTestBackends.setVariant(parts.length == 2 && parts[1].startsWith("v") ? parts[1] : "auto");
        return switch (name) {
            case "java" -> KernelBackends.entropy("java");
            case "cuda-emulation:sm_80" -> CeMixTestBackends.entropyEmulation(name, 108, 1, 0);
            case "cuda", "cuda:v5" -> CeMixTestBackends.onDevice(KernelBackends.entropy("cuda"));
            default -> CeMixTestBackends.entropyEmulation(name, 132, 8, 0);
        };
    }

    /** One problem's outputs: entropy, nll, lse. */
    record Out(float[] h, float[] nll, float[] lse) {}

    static Out run(Problem p, EntropyBackend b, boolean labels) {
        p.poison();
        EntropyArgs.Builder call = Entropy.of(p.strong, p.entropy).lse(p.lse);
        if (labels) call.labels(p.labels, p.rowLoss);
        call.run(b);
        return new Out(p.entropy.toArray(ValueLayout.JAVA_FLOAT), p.rowLoss.toArray(ValueLayout.JAVA_FLOAT),
                p.lse.toArray(ValueLayout.JAVA_FLOAT));
    }

    @ParameterizedTest(name = "{0} {1} rows={2} vocab={3} labels={4}")
    @MethodSource("cases")
    void backendMatchesFloat64Reference(String name, DType dtype, int rows, int vocab, boolean labels) {
        EntropyBackend backend = backend(name);
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, dtype, rows, vocab, vocab % 3, 1f, 3.0, 17L * rows + vocab);
            Out ref = run(p, KernelBackends.entropy("java"), labels);
            Out got = run(p, backend, labels);
            p.assertRows(name + " entropy", ref.h(), got.h(), rows);
            p.assertRows(name + " lse", ref.lse(), got.lse(), rows);
            if (labels) p.assertRows(name + " nll", ref.nll(), got.nll(), rows);
            else assertTrue(Float.isNaN(got.nll()[0]), "nll untouched without labels");
        }
    }

    /** The reference against ce_mix's (written separately): entropy, lse and loss of lambda = 1. */
    @ParameterizedTest(name = "{0} vocab={1}")
    @MethodSource("referenceCases")
    void referenceAgreesWithCeMixReferenceAtLambdaOne(DType dtype, int vocab) {
        try (Arena arena = Arena.ofConfined()) {
            Problem p = new Problem(arena, dtype, 11, vocab, 2, 1f, 4.0, vocab);
            if (vocab > 1) p.strong.set(1, (p.label(1) + 1) % vocab, Float.NEGATIVE_INFINITY); // a masked entry
            Out ref = run(p, KernelBackends.entropy("java"), true);
            p.poison();
            CeMix.of(p.strong, p.strong, p.labels).lambda(1f).invNorm(1f).rowLoss(p.rowLoss).lse(p.lse)
                    .entropy(p.entropy).run(KernelBackends.ceMix("java"));
            for (int r = 0; r < p.rows; r++) {
                assertEquals(ref.h()[r], p.entropy.getAtIndex(ValueLayout.JAVA_FLOAT, r), 1e-6, "entropy " + r);
                assertEquals(ref.lse()[r], p.lse.getAtIndex(ValueLayout.JAVA_FLOAT, r), 1e-6, "lse " + r);
                assertEquals(ref.nll()[r], p.rowLoss.getAtIndex(ValueLayout.JAVA_FLOAT, r), 1e-6, "nll " + r);
            }
        }
    }

    static List<Arguments> referenceCases() {
        return List.of(Arguments.of(DType.F32, 1), Arguments.of(DType.F32, 517), Arguments.of(DType.BF16, 4099));
    }

    @Test
    void uniformAndOneHotDistributions() {
        for (String b : hostNames("java", "cuda-emulation:sm_90")) {
            try (Arena arena = Arena.ofConfined()) {
                int vocab = 1003;
                Logits.Host z = Logits.allocate(arena, DType.F32, 2, vocab);
                for (int v = 0; v < vocab; v++) z.set(1, v, v == 5 ? 0f : Float.NEGATIVE_INFINITY);
                MemorySegment labels = arena.allocate(16);
                labels.setAtIndex(ValueLayout.JAVA_LONG, 0, 3);
                labels.setAtIndex(ValueLayout.JAVA_LONG, 1, 5);
                MemorySegment h = arena.allocate(8), nll = arena.allocate(8);
                Entropy.of(z, h).labels(labels, nll).run(backend(b));
                assertEquals(Math.log(vocab), h.getAtIndex(ValueLayout.JAVA_FLOAT, 0), 1e-5, b);
                assertEquals(Math.log(vocab), nll.getAtIndex(ValueLayout.JAVA_FLOAT, 0), 1e-5, b);
                assertEquals(0f, h.getAtIndex(ValueLayout.JAVA_FLOAT, 1), 0f, b);
                assertEquals(0f, nll.getAtIndex(ValueLayout.JAVA_FLOAT, 1), 0f, b);
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            Logits.Host z = Logits.allocate(arena, DType.F32, 2, 1003);
            for (int v = 0; v < 1003; v++) z.set(1, v, v == 5 ? 0f : Float.NEGATIVE_INFINITY);
            MemorySegment labels = arena.allocate(16);
            labels.setAtIndex(ValueLayout.JAVA_LONG, 0, 3);
            labels.setAtIndex(ValueLayout.JAVA_LONG, 1, 5);
            assertEquals(Math.log(1003) / 2, Entropy.meanOverLabelled(z, labels), 1e-5);
            labels.setAtIndex(ValueLayout.JAVA_LONG, 1, CeMix.IGNORE_INDEX);
            assertEquals(Math.log(1003), Entropy.meanOverLabelled(z, labels), 1e-5, "ignored rows do not count");
        }
    }

    /** A NaN row (ignored or not) and a label whose logit is −inf are non-finite; allowed, they come out NaN / +inf. */
    @Test
    void nonFiniteRowsOnEveryHostBackend() {
        for (String b : hostNames("java", "cuda-emulation:sm_90", "cuda-emulation:sm_80")) {
            try (Arena arena = Arena.ofConfined()) {
                Problem p = new Problem(arena, DType.F32, 5, 300, 0, 1f, 1.0, 11); // row 3 is ignored
                p.strong.set(3, 17, Float.NaN);
                EntropyBackend backend = backend(b);
                NonFiniteException e = assertThrows(NonFiniteException.class,
                        () -> Entropy.of(p.strong, p.entropy).run(backend), b);
                assertTrue(e.getMessage().contains("row 3"), b + ": " + e.getMessage());
                p.strong.set(3, 17, 0f);
                p.strong.set(1, p.label(1), Float.NEGATIVE_INFINITY);
                assertThrows(NonFiniteException.class, () -> Entropy.of(p.strong, p.entropy).labels(p.labels, p.rowLoss)
                        .run(backend), b);
                p.poison();
                Entropy.of(p.strong, p.entropy).labels(p.labels, p.rowLoss).allowNonFinite(true).run(backend);
                assertEquals(Float.POSITIVE_INFINITY, p.rowLoss.getAtIndex(ValueLayout.JAVA_FLOAT, 1), b);
                assertTrue(Float.isFinite(p.entropy.getAtIndex(ValueLayout.JAVA_FLOAT, 1)), b);
                assertEquals(0f, p.rowLoss.getAtIndex(ValueLayout.JAVA_FLOAT, 3), b + ": ignored row");
            }
        }
    }

    @Test
    void labelsOutOfRangeAreRefusedBeforeAnythingIsWritten() {
        for (String b : hostNames("java", "cuda-emulation:sm_90")) {
            try (Arena arena = Arena.ofConfined()) {
                Problem p = new Problem(arena, DType.F32, 4, 50, 0, 1f, 1.0, 2);
                p.labels.setAtIndex(ValueLayout.JAVA_LONG, 2, 50);
                p.poison();
                EntropyBackend backend = backend(b);
                assertThrows(LabelOutOfRangeException.class,
                        () -> Entropy.of(p.strong, p.entropy).labels(p.labels, p.rowLoss).run(backend), b);
                if (!b.equals("java")) assertTrue(Float.isNaN(p.entropy.getAtIndex(ValueLayout.JAVA_FLOAT, 0)), b);
            }
        }
    }

    @Test
    void labelsAndNllGoTogether() {
        try (Arena arena = Arena.ofConfined()) {
            Logits.Host z = Logits.allocate(arena, DType.F32, 2, 4);
            MemorySegment h = arena.allocate(8);
            assertThrows(InvalidArgumentException.class, () -> new EntropyArgs(z, arena.allocate(16), h, null, null, false));
            assertThrows(InvalidArgumentException.class, () -> new EntropyArgs(z, null, h, arena.allocate(8), null, false));
            // the native check too, for callers that build the descriptor themselves
            MemorySegment a = new EntropyArgs(z, null, h, null, null, false).toNative(arena);
            wmss_entropy_args.labels(a, arena.allocate(16));
            assertEquals(Status.NULL_POINTER, Status.of(WmssH.wmss_entropy(a)));
            assertTrue(Backend.lastError().contains("labels and nll go together"), Backend.lastError());
        }
    }

    @Test
    void descriptorOfAnotherSizeIsAVersionError() {
        try (Arena arena = Arena.ofConfined()) {
            Logits.Host z = Logits.allocate(arena, DType.F32, 2, 4);
            MemorySegment a = new EntropyArgs(z, null, arena.allocate(8), null, null, false).toNative(arena);
            wmss_entropy_args.size(a, wmss_entropy_args.LAYOUT.byteSize() - 8);
            assertEquals(Status.VERSION, Status.of(WmssH.wmss_entropy(a)));
            assertTrue(Backend.lastError().contains("wmss_entropy_args.size"), Backend.lastError());
        }
    }

    /**
     * An audit's cases at logits near float's range: the NLL is (max - z[y]) + log sum in every backend (the Java
     * reference's lse - z[y] cancelled to 0 where ln 9 is right), and an NLL beyond float's range is reported
     * (the Java reference wrote +inf without a word).
     */
    @Test
    void nllNearFloatsRangeAgreesAcrossBackends() {
        try (Arena arena = Arena.ofConfined()) {
            int vocab = 17; // 9 entries at 3e38 (the even ones): p = 1/9 each
            Logits.Host z = Logits.allocate(arena, DType.F32, 2, vocab);
            for (int r = 0; r < 2; r++) for (int v = 0; v < vocab; v++) z.set(r, v, v % 2 == 0 ? 3e38f : -3e38f);
            MemorySegment labels = arena.allocate(16, 8), h = arena.allocate(8, 4), nll = arena.allocate(8, 4);
            labels.setAtIndex(ValueLayout.JAVA_LONG, 0, 4);
            labels.setAtIndex(ValueLayout.JAVA_LONG, 1, 16);
            for (String name : hostNames("java")) {
                EntropyBackend b = backend(name);
                b.run(Entropy.of(z, h).labels(labels, nll).build());
                for (int r = 0; r < 2; r++) {
                    assertEquals(Math.log(9), nll.getAtIndex(ValueLayout.JAVA_FLOAT, r), 1e-5, name + " nll");
                    assertEquals(Math.log(9), h.getAtIndex(ValueLayout.JAVA_FLOAT, r), 1e-5, name + " entropy");
                }
                labels.setAtIndex(ValueLayout.JAVA_LONG, 1, 3); // a -3e38 entry: NLL 6e38, beyond float
                assertThrows(NonFiniteException.class, () -> b.run(Entropy.of(z, h).labels(labels, nll).build()), name);
                labels.setAtIndex(ValueLayout.JAVA_LONG, 1, 16);
            }
        }
    }
}
