package dev.wmss.kernels;

import dev.wmss.kernels.error.BackendUnavailableException;
import dev.wmss.kernels.error.Status;

import java.lang.foreign.MemorySegment;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.function.Function;

/**
 * The implementations of each op by name, and the one a call runs on by default. Built in: for ce_mix
 * "cpu-fused", "cpu-unfused", "cuda-fused", "cuda-unfused" and "java" (the float64 reference); for entropy "cpu",
 * "cuda" and "java". Others come from {@link ServiceLoader} providers of {@link CeMixBackend} or
 * {@link EntropyBackend} on the class or module path (wmss-runtime provides ce_mix's "libtorch"); a provider's
 * name may not replace a built-in one. The default for a call is the fused native kernel on the logits' side:
 * CUDA for device logits, the CPU for host logits.
 */
public final class KernelBackends {
    private KernelBackends() {}

    private static final class CeMixAll {
        static final CeMixBackend CPU_FUSED = new CeMixCpu(true), CUDA_FUSED = new CeMixCuda(true);
        static final Map<String, CeMixBackend> BY_NAME = collect(CeMixBackend.class, CeMixBackend::name,
                CUDA_FUSED, CPU_FUSED, new CeMixCuda(false), new CeMixCpu(false), new CeMixJava());
    }

    private static final class EntropyAll {
        static final EntropyBackend CPU = new EntropyCpu(), CUDA = new EntropyCuda();
        static final Map<String, EntropyBackend> BY_NAME = collect(EntropyBackend.class, EntropyBackend::name,
                CUDA, CPU, new EntropyJava());
    }

    @SafeVarargs
    private static <B> Map<String, B> collect(Class<B> type, Function<B, String> name, B... builtIn) {
        Map<String, B> m = new LinkedHashMap<>();
        for (B b : builtIn) m.put(name.apply(b), b);
        for (B b : ServiceLoader.load(type, KernelBackends.class.getClassLoader())) m.putIfAbsent(name.apply(b), b);
        return Collections.unmodifiableMap(m);
    }

    private static <B> B byName(Map<String, B> all, String op, String name) {
        B b = all.get(name);
        if (b == null) {
            throw new BackendUnavailableException(Status.UNSUPPORTED, "no " + op + " backend named '" + name
                    + "'; there are " + all.keySet());
        }
        return b;
    }

    /** The ce_mix backend called {@code name}, e.g. "cpu-fused". */
    public static CeMixBackend ceMix(String name) {
        return byName(CeMixAll.BY_NAME, "ce_mix", name);
    }

    /** The names of the ce_mix backends present, built-in ones first. */
    public static Set<String> ceMixNames() {
        return CeMixAll.BY_NAME.keySet();
    }

    /** The default ce_mix backend for the memory side of {@code args}: cuda-fused or cpu-fused. */
    public static CeMixBackend ceMixFor(CeMixArgs args) {
        return args.onDevice() ? CeMixAll.CUDA_FUSED : CeMixAll.CPU_FUSED;
    }

    /**
     * The unfused CPU baseline with a caller-owned scratch of 2·rows·vocab floats (no allocation per call): native,
     * writable, and overlapping none of a call's buffers (else {@code InvalidArgumentException}). Threads that share
     * the returned backend take turns, since the scratch holds one call's intermediates.
     */
    public static CeMixBackend cpuUnfused(MemorySegment workspace) {
        return new CeMixCpu(workspace);
    }

    /** The entropy backend called {@code name}, e.g. "cpu". */
    public static EntropyBackend entropy(String name) {
        return byName(EntropyAll.BY_NAME, "entropy", name);
    }

    /** The names of the entropy backends present, built-in ones first. */
    public static Set<String> entropyNames() {
        return EntropyAll.BY_NAME.keySet();
    }

    /** The default entropy backend for the memory side of {@code args}: cuda or cpu. */
    public static EntropyBackend entropyFor(EntropyArgs args) {
        return args.onDevice() ? EntropyAll.CUDA : EntropyAll.CPU;
    }
}
