package dev.wmss.train.cli;

import dev.wmss.runtime.TorchModel;
import dev.wmss.train.loop.TrainerTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** A run whose loss stops being finite says at which step and which models, not only a row of the kernel. */
class DivergenceTest {
    @Test
    void aDivergedRunNamesTheStepAndTheModels(@TempDir Path tmp) throws Exception {
        Path m = Files.createDirectories(tmp.resolve("m"));
        try (TorchModel model = TorchModel.init(TrainerTest.TINY, 1)) {
            model.save(m);
        }
        CliRun r = CliRun.of("sft", "--model", m.toString(), "--data", "builtin:train", "--out", tmp.resolve("o").toString(),
                "--lr", "1e30", "--batch", "8", "--max-len", "160");
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("sft step ") && (r.err().contains("the loss is not finite") || r.err().contains("the gradient norm is"))
                && r.err().contains("the strong model has diverged"), r.err());
        assertFalse(Files.exists(tmp.resolve("o/strong/model.safetensors")), "no diverged model is written");
        assertFalse(r.err().contains("WMSS_FLAG") || r.err().contains("allowNonFinite"), "no advice for API callers: " + r.err());
    }
}
