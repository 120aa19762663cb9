package dev.wmss.kernels.ffi;

import dev.wmss.kernels.Backend;
import dev.wmss.kernels.error.NativeLibraryException;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.*;

/** Which flavour of the natives the loader takes among the wmss-natives jars on the class path. */
class NativeLoaderTest {
    static final BooleanSupplier DEVICE = () -> true, NO_DEVICE = () -> false;

    @Test
    void cudaWhereItRunsElseCpu() {
        assertEquals("cuda", NativeLoader.choose(List.of("cuda", "cpu"), null, null, DEVICE));
        assertEquals("cpu", NativeLoader.choose(List.of("cuda", "cpu"), null, null, NO_DEVICE));
        assertEquals("cpu", NativeLoader.choose(List.of("cpu"), null, null, DEVICE));
        // the CUDA build also runs every op on the CPU: alone, it is taken without a device
        assertEquals("cuda", NativeLoader.choose(List.of("cuda"), null, null, NO_DEVICE));
    }

    @Test
    void aBackendForcedToTheCpuTakesTheCpuFlavourWithoutProbing() {
        AtomicInteger probes = new AtomicInteger();
        assertEquals("cpu", NativeLoader.choose(List.of("cuda", "cpu"), null, "cpu", () -> probes.incrementAndGet() > 0));
        assertEquals(0, probes.get());
        assertEquals("cuda", NativeLoader.choose(List.of("cuda", "cpu"), null, "auto", DEVICE));
    }

    @Test
    void aForcedFlavourMustBePresent() {
        assertEquals("cpu", NativeLoader.choose(List.of("cuda", "cpu"), "CPU", null, DEVICE));
        assertEquals("cuda", NativeLoader.choose(List.of("cuda", "cpu"), "cuda", "cpu", NO_DEVICE));
        NativeLibraryException e = assertThrows(NativeLibraryException.class,
                () -> NativeLoader.choose(List.of("cpu"), "cuda", null, DEVICE));
        assertTrue(e.getMessage().contains("[cpu]"), e.getMessage());
    }

    @Test
    void noNativesNamesTheArtifact() {
        NativeLibraryException e = assertThrows(NativeLibraryException.class,
                () -> NativeLoader.choose(List.of(), null, null, DEVICE));
        assertTrue(e.getMessage().contains("wmss-natives") && e.getMessage().contains("linux-x86_64"), e.getMessage());
    }

    /** This build's tests see its natives jars' contents; on a machine without a GPU the CPU flavour is loaded. */
    @Test
    void theLoadedFlavourIsExtractedUnderItsName() {
        String f = Backend.nativesFlavour();
        assertTrue(List.of("cpu", "cuda", "local").contains(f), f);
        if (!f.equals("local")) {
            assertTrue(Backend.libraryDirectory().getFileName().toString().contains("-" + f + "-"),
                    Backend.libraryDirectory().toString());
            if (!NativeLoader.cudaRuns()) assertEquals("cpu", f);
        }
        assertTrue(Backend.buildInfo().contains(f.equals("cpu") ? "cuda: not built" : "cuda"), Backend.buildInfo());
    }
}
