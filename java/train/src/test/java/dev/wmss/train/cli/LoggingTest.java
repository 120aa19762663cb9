package dev.wmss.train.cli;

import dev.wmss.train.loop.MetricsSinkProbe;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.*;

/** One logging backend: SLF4J's simple binding (so DJL's "no providers" warning is gone), with System.Logger routed to it. */
class LoggingTest {
    @Test
    void slf4jHasItsSimpleBindingAndTheKernelsLoggerGoesThroughIt() {
        assertEquals("org.slf4j.simple.SimpleLoggerFactory", LoggerFactory.getILoggerFactory().getClass().getName(),
                "without a binding SLF4J falls back to a no-op logger and prints its 'no providers' warning");
        System.Logger kernels = System.getLogger("dev.wmss.kernels");
        assertTrue(kernels.getClass().getName().startsWith("org.slf4j"), kernels.getClass().getName());
        assertFalse(kernels.isLoggable(System.Logger.Level.INFO), "the kernels' INFO line is off unless -Dwmss.verbose");
        assertTrue(kernels.isLoggable(System.Logger.Level.WARNING));
    }

    @Test
    void djlsCudaProbeIsSilent() {
        // DJL's CudaUtils logs "Failed to detect GPU count: CUDA driver version is insufficient" twice per command on
        // every machine without a GPU driver; the tokenizers run on the CPU whatever it finds
        org.slf4j.Logger cuda = LoggerFactory.getLogger("ai.djl.util.cuda.CudaUtils");
        assertFalse(cuda.isWarnEnabled() || cuda.isErrorEnabled(), "DJL's CUDA probe must not print");
        assertTrue(LoggerFactory.getLogger("ai.djl.huggingface.tokenizers.HuggingFaceTokenizer").isWarnEnabled(),
                "the rest of DJL still warns");
    }

    @Test
    void theProgressBarDrawsOnATerminalAndTheLogLineStillComes() {
        String err = MetricsSinkProbe.runWithBar(12, 5);
        assertTrue(err.contains("12/12") || err.contains("100%"), err);
    }
}
