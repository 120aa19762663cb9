package dev.wmss.kernels;

import dev.wmss.kernels.error.Status;
import dev.wmss.kernels.ffi.WmssDevH;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Test-only ways to run a host problem through other paths, so one parameterised test covers them all: the CUDA
 * algorithm's host emulation (for a chosen launch plan), in place (gradients overwrite a copy of the inputs), and
 * a round trip through GPU memory for the CUDA backends.
 */
final class CeMixTestBackends {
    private CeMixTestBackends() {}

    /** wmss_cuda_host_ce_mix: the CUDA fused kernel's algorithm on the CPU, planned for sm_count SMs and clusters. */
    static CeMixBackend cudaEmulation(String name, int smCount, int maxCluster, int split) {
        return new CeMixBackend() {
            public String name() {
                return name;
            }

            public boolean accepts(CeMixArgs a) {
                return !a.onDevice();
            }

            public double run(CeMixArgs a) {
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment loss = a.rowLoss() != null ? a.rowLoss() : arena.allocate(Math.max(4, a.rows() * 4));
                    Status.check(WmssDevH.wmss_cuda_host_ce_mix(a.toNative(arena, loss), smCount, maxCluster, split),
                            Backend::lastError);
                    return CeMixCpu.sum(loss, a.rows()) * a.effectiveInvNorm();
                }
            }
        };
    }

    /** wmss_cuda_host_entropy: the entropy op through the same emulation. */
    static EntropyBackend entropyEmulation(String name, int smCount, int maxCluster, int split) {
        return new EntropyBackend() {
            public String name() {
                return name;
            }

            public boolean accepts(EntropyArgs a) {
                return !a.onDevice();
            }

            public void run(EntropyArgs a) {
                try (Arena arena = Arena.ofConfined()) {
                    Status.check(WmssDevH.wmss_cuda_host_entropy(a.toNative(arena), smCount, maxCluster, split),
                            Backend::lastError);
                }
            }
        };
    }

    /** Copies a host entropy call to GPU memory, runs a CUDA backend there, and copies every output back. */
    static EntropyBackend onDevice(EntropyBackend cuda) {
        return new EntropyBackend() {
            public String name() {
                return cuda.name();
            }

            public boolean accepts(EntropyArgs a) {
                return !a.onDevice();
            }

            public void run(EntropyArgs a) {
                long rows = a.rows();
                try (DeviceMemory z = DeviceMemory.copyOf(a.z().data());
                     DeviceMemory labels = a.labels() == null ? null : DeviceMemory.copyOf(a.labels().asSlice(0, 8 * rows));
                     DeviceMemory h = DeviceMemory.allocate(4 * rows); DeviceMemory nll = DeviceMemory.allocate(4 * rows);
                     DeviceMemory lse = DeviceMemory.allocate(4 * rows)) {
                    for (DeviceMemory d : new DeviceMemory[]{h, nll, lse}) d.fill(0xFF); // NaN
                    cuda.run(new EntropyArgs(device(z, a.z()), labels == null ? null : labels.segment(), h.segment(),
                            a.nll() == null ? null : nll.segment(), a.lse() == null ? null : lse.segment(),
                            a.allowNonFinite()));
                    h.copyTo(a.entropy().asSlice(0, 4 * rows));
                    if (a.nll() != null) nll.copyTo(a.nll().asSlice(0, 4 * rows));
                    if (a.lse() != null) lse.copyTo(a.lse().asSlice(0, 4 * rows));
                }
            }
        };
    }

    /** Selects the CUDA fused kernel's variant (wmss_cuda_set_variant: GPU launches and the host emulation alike). */
    static void setVariant(String variant) {
        try (Arena arena = Arena.ofConfined()) {
            Status.check(WmssDevH.wmss_cuda_set_variant(arena.allocateFrom(variant)), Backend::lastError);
        }
    }

    /** The variant in force (wmss_cuda_variant). */
    static String variant() {
        return WmssDevH.wmss_cuda_variant().reinterpret(64).getString(0);
    }

    /** Runs {@code inner} with the CUDA kernel's variant set to {@code variant}, then back to "auto". */
    static CeMixBackend withVariant(String variant, CeMixBackend inner) {
        return new CeMixBackend() {
            public String name() {
                return inner.name() + " " + variant;
            }

            public boolean accepts(CeMixArgs a) {
                return inner.accepts(a);
            }

            public double run(CeMixArgs a) {
                setVariant(variant);
                try {
                    return inner.run(a);
                } finally {
                    setVariant("auto");
                }
            }
        };
    }

    /**
     * Runs {@code inner} in place: the inputs are copied into the gradient buffers, which then serve as both
     * input and output, so the results land where an out-of-place run would put them.
     */
    static CeMixBackend inPlace(CeMixBackend inner) {
        return new CeMixBackend() {
            public String name() {
                return inner.name() + " in place";
            }

            public boolean accepts(CeMixArgs a) {
                return inner.accepts(a);
            }

            public double run(CeMixArgs a) {
                Logits gs = a.gradStrong(), gw = a.gradWeak();
                MemorySegment.copy(a.strong().data(), 0, gs.data(), 0, gs.data().byteSize());
                MemorySegment.copy(a.weak().data(), 0, gw.data(), 0, gw.data().byteSize());
                return inner.run(new CeMixArgs(gs, gw, a.labels(), a.lambda(), a.invNorm(), gs, gw, a.rowLoss(),
                        a.lse(), a.entropy(), a.allowNonFinite()));
            }
        };
    }

    /** Copies a host call to GPU memory, runs a CUDA backend there, and copies every output back. */
    static CeMixBackend onDevice(CeMixBackend cuda, boolean inPlace) {
        return new CeMixBackend() {
            public String name() {
                return cuda.name() + (inPlace ? " in place" : "");
            }

            public boolean accepts(CeMixArgs a) {
                return !a.onDevice();
            }

            public double run(CeMixArgs a) {
                long zBytes = a.strong().data().byteSize(), rows = a.rows();
                try (DeviceMemory zs = DeviceMemory.copyOf(a.strong().data());
                     DeviceMemory zw = DeviceMemory.copyOf(a.weak().data());
                     DeviceMemory gs = DeviceMemory.allocate(zBytes); DeviceMemory gw = DeviceMemory.allocate(zBytes);
                     DeviceMemory labels = DeviceMemory.copyOf(a.labels().asSlice(0, 8 * rows));
                     DeviceMemory loss = DeviceMemory.allocate(4 * rows); DeviceMemory lse = DeviceMemory.allocate(4 * rows);
                     DeviceMemory ent = DeviceMemory.allocate(4 * rows)) {
                    for (DeviceMemory d : new DeviceMemory[]{gs, gw, loss, lse, ent}) d.fill(0xFF); // NaN
                    Logits s = device(zs, a.strong()), w = device(zw, a.weak());
                    Logits dgs = inPlace ? s : device(gs, a.strong()), dgw = inPlace ? w : device(gw, a.weak());
                    double total = cuda.run(new CeMixArgs(s, w, labels.segment(), a.lambda(), a.effectiveInvNorm(),
                            a.gradStrong() == null ? null : dgs, a.gradWeak() == null ? null : dgw, loss.segment(),
                            lse.segment(), ent.segment(), a.allowNonFinite()));
                    if (a.gradStrong() != null) (inPlace ? zs : gs).copyTo(a.gradStrong().data());
                    if (a.gradWeak() != null) (inPlace ? zw : gw).copyTo(a.gradWeak().data());
                    if (a.rowLoss() != null) loss.copyTo(a.rowLoss().asSlice(0, 4 * rows));
                    if (a.lse() != null) lse.copyTo(a.lse().asSlice(0, 4 * rows));
                    if (a.entropy() != null) ent.copyTo(a.entropy().asSlice(0, 4 * rows));
                    return total;
                }
            }
        };
    }

    private static Logits device(DeviceMemory m, Logits like) {
        return Logits.onDevice(m.segment(), like.dtype(), like.rows(), like.vocab(), like.rowStride());
    }
}
