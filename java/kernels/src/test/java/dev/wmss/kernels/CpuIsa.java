package dev.wmss.kernels;

import dev.wmss.kernels.error.BackendUnavailableException;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The CPU kernels' instruction sets, for tests that must run on every one the machine has (an edge case checked on
 * the automatically chosen ISA alone lets another ISA's build lose it unseen), and the names of the CPU backends
 * in each.
 */
final class CpuIsa {
    private CpuIsa() {}

    /** Every ISA the CPU kernels are built for, widest first. */
    static final List<String> ALL = List.of("avx512bf16", "avx512", "avx2", "sse2");

    /** Makes isa the kernels' instruction set for this process, or skips the test where this CPU lacks it. */
    static void select(String isa) {
        try {
            Backend.setCpuIsa(isa);
        } catch (BackendUnavailableException e) {
            assumeTrue(false, "this CPU lacks " + isa);
        }
    }

    /** The ISAs this CPU can run (the automatic choice is restored after the probe). */
    static List<String> available() {
        List<String> out = new ArrayList<>();
        try {
            for (String isa : ALL) {
                try {
                    Backend.setCpuIsa(isa);
                    out.add(isa);
                } catch (BackendUnavailableException e) {
                    // not on this CPU
                }
            }
        } finally {
            Backend.setCpuIsa("auto");
        }
        return out;
    }

    /** The CPU backends in every ISA: "cpu-fused:ISA", "cpu-fused:in-place:ISA", "cpu-unfused:ISA". */
    static List<String> backendNames() {
        List<String> out = new ArrayList<>();
        for (String isa : ALL) {
            out.add("cpu-fused:" + isa);
            out.add("cpu-fused:in-place:" + isa);
            out.add("cpu-unfused:" + isa);
        }
        return out;
    }
}
