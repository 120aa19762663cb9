package dev.wmss.runtime;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Loading puts the weights straight into place (an audit: each rank made a random model, 4 bytes per parameter, and
 * read every file whole before copying): the host's peak grows by the parameters and about one tensor, measured in a
 * JVM of its own. Before, it grew by the random model, the files and the parameters: three times the weights.
 */
class LoadMemoryTest {
    static final String CONFIG = "{\"model_type\": \"qwen3\", \"vocab_size\": 32000, \"hidden_size\": 512, \"intermediate_size\": 1536,"
            + " \"num_hidden_layers\": 6, \"num_attention_heads\": 8, \"num_key_value_heads\": 4, \"head_dim\": 64,"
            + " \"tie_word_embeddings\": false}";

    @Test
    void theHostHoldsTheParametersAndOneTensorWhileLoading(@TempDir Path tmp) throws Exception {
        long params;
        try (TorchModel m = TorchModel.init(CONFIG, 1)) {
            params = m.parameterCount();
            m.save(tmp.resolve("m"));
        }
        Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Xmx128m", "-Dwmss.library.path=" + dev.wmss.kernels.Backend.libraryDirectory(),
                "-cp", System.getProperty("java.class.path"), LoadProbeMain.class.getName(), tmp.resolve("m").toString())
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        Matcher m = Pattern.compile("loaded (\\d+) bytes of peak growth, (\\d+) parameters").matcher(out);
        assertTrue(m.find(), out);
        long growth = Long.parseLong(m.group(1)), weights = 4L * params, largestTensor = 4L * 32000 * 512;
        assertEquals(params, Long.parseLong(m.group(2)));
        assertTrue(growth < weights + largestTensor + (32L << 20), "peak growth " + (growth >> 20) + " MiB for "
                + (weights >> 20) + " MiB of weights and a largest tensor of " + (largestTensor >> 20) + " MiB");
        assertTrue(growth > weights * 9 / 10, "the parameters themselves are there: " + (growth >> 20) + " MiB");
    }
}
