package dev.wmss.kernels;

import dev.wmss.kernels.error.BackendUnavailableException;
import dev.wmss.kernels.error.InvalidArgumentException;
import dev.wmss.kernels.ffi.NativeLoader;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Library extraction, the backend probe, and a clean "no CUDA device" on machines without one. */
class BackendTest {
    @Test
    void librariesAreExtractedIntoAVersionedCacheDirectory() {
        Path dir = NativeLoader.libraryDirectory();
        assertTrue(Files.isRegularFile(dir.resolve("libwmss.so")), dir.toString());
        String cache = System.getProperty("wmss.cache.dir");
        if (cache != null) {
            assertEquals(Path.of(cache).toAbsolutePath(), dir.getParent());
            assertTrue(dir.getFileName().toString().matches("\\d+\\.\\d+\\.\\d+.*-(cpu|cuda)-linux-x86_64-[0-9a-f]{12}"),
                    dir.getFileName().toString());
        }
    }

    @Test
    void probeReportsCpuAndAReasonForCuda() {
        Backend b = Backend.current();
        assertEquals(b.cudaDevices() > 0 ? Backend.Kind.CUDA : Backend.Kind.CPU, b.kind());
        assertTrue(b.cpuIsa().matches("avx512bf16|avx512|avx2|sse2"), b.cpuIsa());
        assertTrue(b.threads() >= 1);
        assertFalse(b.cudaStatus().isBlank());
        assertTrue(Backend.buildInfo().startsWith("wmss "), Backend.buildInfo());
        if (b.cudaDevices() == 0) {
            assertTrue(b.cudaStatus().contains("no CUDA device") || b.cudaStatus().contains("without CUDA"),
                    b.cudaStatus());
        }
        // without a driver the runtime says "driver version is insufficient", which misleads: the probe says so
        if (b.cudaDevices() == 0 && b.cudaStatus().startsWith("no CUDA device") && !driverInstalled()) {
            assertTrue(b.cudaStatus().contains("no NVIDIA driver"), b.cudaStatus());
            assertFalse(b.cudaStatus().contains("insufficient"), b.cudaStatus());
        }
    }

    /** Whether libcuda.so.1 is where the dynamic loader looks (the usual directories and LD_LIBRARY_PATH). */
    private static boolean driverInstalled() {
        java.util.List<String> dirs = new java.util.ArrayList<>(java.util.List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib64",
                "/usr/lib", "/lib/x86_64-linux-gnu", "/usr/local/nvidia/lib64", "/usr/lib/wsl/lib"));
        String ld = System.getenv("LD_LIBRARY_PATH");
        if (ld != null) dirs.addAll(java.util.List.of(ld.split(":")));
        return dirs.stream().anyMatch(d -> !d.isEmpty() && java.nio.file.Files.exists(java.nio.file.Path.of(d, "libcuda.so.1")));
    }

    @Test
    void forcingCudaWithoutADeviceFailsClearlyAndCpuCanBeForced() {
        try {
            System.setProperty("wmss.backend", "cuda");
            Backend.setCpuIsa("auto"); // drops the cached probe
            if (Backend.current().cudaDevices() == 0) fail("unreachable: the probe must refuse");
        } catch (BackendUnavailableException e) {
            assertTrue(e.getMessage().contains("wmss.backend=cuda") && e.getMessage().contains("-Dwmss.backend=cpu"),
                    e.getMessage());
        } finally {
            System.setProperty("wmss.backend", "cpu");
            Backend.setCpuIsa("auto");
        }
        assertEquals(Backend.Kind.CPU, Backend.current().kind());
        System.clearProperty("wmss.backend");
        Backend.setCpuIsa("auto");
        System.setProperty("wmss.backend", "tpu");
        try {
            assertThrows(InvalidArgumentException.class, Backend::current);
        } finally {
            System.clearProperty("wmss.backend");
            Backend.setCpuIsa("auto");
        }
    }

    @Test
    void unknownIsaIsRejected() {
        Backend.setCpuIsa("sse2"); // every x86-64 has it, and it is never the automatic choice of a modern CPU
        try {
            assertThrows(InvalidArgumentException.class, () -> Backend.setCpuIsa("avx9000"));
            assertEquals("sse2", Backend.current().cpuIsa(), "a rejected ISA must leave the chosen one in place");
        } finally {
            Backend.setCpuIsa("auto");
        }
    }

    @Test
    void threadCountCanBeSetAndRestored() {
        int before = Backend.current().threads();
        Backend.setThreads(1);
        assertEquals(1, Backend.current().threads());
        Backend.setThreads(0);
        assertEquals(before, Backend.current().threads());
        assertThrows(InvalidArgumentException.class, () -> Backend.setThreads(-2));
    }
}
