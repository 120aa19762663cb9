package dev.wmss.runtime;

import dev.wmss.kernels.error.NonFiniteException;
import dev.wmss.kernels.error.WmssException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Broken checkpoints say what is wrong with which file: a safetensors file cut short or with broken offsets names the
 * file, what its header promises and how many bytes it has; NaN or infinite weights name the model directory and the
 * tensor, on load and before a save writes anything; a cut optimizer state names its file.
 */
class CheckpointErrorsTest {
    private static final String TENSOR = "model.layers.0.mlp.down_proj.weight";

    private static Path saved(Path dir) {
        try (TorchModel m = TorchModel.init(TorchModelTest.TINY, 1)) {
            m.save(dir);
        }
        return dir;
    }

    private static String header(byte[] file) {
        long len = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        return new String(file, 8, (int) len, StandardCharsets.ISO_8859_1);
    }

    private static String load(Path dir) {
        return assertThrows(WmssException.class, () -> TorchModel.load(dir)).getMessage();
    }

    @Test
    void truncatedFilesNameTheFileWhatTheHeaderPromisesAndTheirSize(@TempDir Path tmp) throws Exception {
        Path dir = saved(tmp.resolve("m"));
        Path file = dir.resolve("model.safetensors");
        byte[] whole = Files.readAllBytes(file);
        long headerLen = ByteBuffer.wrap(whole, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        // cut in the tensor data, at the last byte, and inside the header
        for (int size : new int[]{whole.length / 2, whole.length - 1, (int) headerLen / 2}) {
            Files.write(file, Arrays.copyOf(whole, size));
            String m = load(dir);
            assertTrue(m.contains(file.toString()) && m.contains("truncated") && m.contains("the file has " + size + " bytes"),
                    size + ": " + m);
            if (size > 8 + headerLen) assertTrue(m.contains("promises " + whole.length + " bytes"), m);
            else assertTrue(m.contains("promise a JSON header of " + headerLen + " bytes"), m);
        }
        Files.write(file, Arrays.copyOf(whole, 5));
        String m = load(dir);
        assertTrue(m.contains(file.toString()) && m.contains("(5 bytes;") && m.contains("8-byte header length"), m);
    }

    @Test
    void brokenOffsetsSayWhatTheyAreAndWhatTheShapeNeeds(@TempDir Path tmp) throws Exception {
        Path dir = saved(tmp.resolve("m"));
        Path file = dir.resolve("model.safetensors");
        byte[] whole = Files.readAllBytes(file);
        String h = header(whole);
        int at = h.indexOf("\"data_offsets\":[", h.indexOf("\"" + TENSOR + "\"")) + "\"data_offsets\":[".length();
        String offsets = h.substring(at, h.indexOf(']', at));
        long begin = Long.parseLong(offsets.split(",")[0]), end = Long.parseLong(offsets.split(",")[1]);
        // the same length of text, so the header length stays right: the end moved back by 4 bytes (one float)
        String shorter = String.format("%d,%" + (offsets.length() - String.valueOf(begin).length() - 1) + "d", begin, end - 4);
        byte[] patched = whole.clone();
        System.arraycopy(shorter.getBytes(StandardCharsets.US_ASCII), 0, patched, 8 + at, shorter.length());
        Files.write(file, patched);
        String m = load(dir);
        assertTrue(m.contains(file.toString()) && m.contains(TENSOR) && m.contains("needs " + (end - begin) + " bytes")
                && m.contains("span " + (end - begin - 4) + " bytes"), m);
        // the end before the beginning
        String backwards = String.format("%d,%" + (offsets.length() - String.valueOf(begin).length() - 1) + "d", begin, 0);
        patched = whole.clone();
        System.arraycopy(backwards.getBytes(StandardCharsets.US_ASCII), 0, patched, 8 + at, backwards.length());
        Files.write(file, patched);
        m = load(dir);
        assertTrue(m.contains(TENSOR) && m.contains("ends before it begins"), m);
    }

    @Test
    void nonFiniteWeightsAreRefusedOnLoadNamingModelAndTensor(@TempDir Path tmp) throws Exception {
        Path dir = saved(tmp.resolve("nan-model"));
        Path file = dir.resolve("model.safetensors");
        byte[] whole = Files.readAllBytes(file);
        String h = header(whole);
        int at = h.indexOf("\"data_offsets\":[", h.indexOf("\"" + TENSOR + "\"")) + "\"data_offsets\":[".length();
        long begin = Long.parseLong(h.substring(at, h.indexOf(',', at)));
        ByteBuffer data = ByteBuffer.wrap(whole).order(ByteOrder.LITTLE_ENDIAN);
        long start = 8 + h.length() + begin;
        data.putFloat((int) start + 4 * 5, Float.NaN);
        data.putFloat((int) start + 4 * 9, Float.NEGATIVE_INFINITY);
        Files.write(file, whole);
        NonFiniteException e = assertThrows(NonFiniteException.class, () -> TorchModel.load(dir));
        assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains(TENSOR)
                && e.getMessage().contains("2 NaN or infinite values") && e.getMessage().contains("flat index 5"),
                e.getMessage());
    }

    /**
     * Finite weights too large to train (an audit's 3e38 trained silently at loss ln V with gradient norm 0) are refused
     * on load, naming the tensor, the value and where; 1e10 is the limit, and a weight at it loads.
     */
    @Test
    void weightsTooLargeToTrainAreRefusedOnLoadNamingTheTensor(@TempDir Path tmp) throws Exception {
        for (float value : new float[]{3e38f, -2e12f, 1e10f}) {
            Path dir = saved(tmp.resolve("big-" + value));
            Path file = dir.resolve("model.safetensors");
            byte[] whole = Files.readAllBytes(file);
            String h = header(whole);
            int at = h.indexOf("\"data_offsets\":[", h.indexOf("\"" + TENSOR + "\"")) + "\"data_offsets\":[".length();
            long begin = Long.parseLong(h.substring(at, h.indexOf(',', at)));
            ByteBuffer.wrap(whole).order(ByteOrder.LITTLE_ENDIAN).putFloat((int) (8 + h.length() + begin) + 4 * 7, value);
            Files.write(file, whole);
            if (value == 1e10f) { // the limit itself is allowed
                try (TorchModel m = TorchModel.load(dir)) {
                    assertEquals(1e10f, m.parameter(TENSOR)[0].getAtIndex(ValueLayout.JAVA_FLOAT, 7));
                }
                continue;
            }
            WmssException e = assertThrows(dev.wmss.kernels.error.InvalidArgumentException.class, () -> TorchModel.load(dir));
            assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains(TENSOR)
                    && e.getMessage().contains("flat index 7") && e.getMessage().contains("overflow fp32 and bf16 training"),
                    e.getMessage());
            assertTrue(e.getMessage().contains(value == 3e38f ? "magnitude 3e+38" : "magnitude 2e+12"), e.getMessage());
        }
    }

    @Test
    void aModelWithNonFiniteWeightsIsNotWrittenAndTheOldFilesStay(@TempDir Path tmp) throws Exception {
        Path dir = saved(tmp.resolve("m"));
        byte[] before = Files.readAllBytes(dir.resolve("model.safetensors"));
        try (TorchModel m = TorchModel.load(dir)) {
            m.parameter(TENSOR)[0].setAtIndex(ValueLayout.JAVA_FLOAT, 3, Float.POSITIVE_INFINITY);
            for (Path target : new Path[]{dir, tmp.resolve("export")}) {
                NonFiniteException e = assertThrows(NonFiniteException.class,
                        () -> m.save(target, dev.wmss.kernels.DType.BF16, 0));
                assertTrue(e.getMessage().contains("refusing to write " + target) && e.getMessage().contains(TENSOR)
                        && e.getMessage().contains("1 NaN or infinite value"), e.getMessage());
            }
        }
        assertArrayEquals(before, Files.readAllBytes(dir.resolve("model.safetensors")), "the saved model is untouched");
        assertFalse(Files.exists(tmp.resolve("export/model.safetensors")), "nothing written");
        // F32 values beyond BF16's range become infinite in BF16: refused too
        try (TorchModel m = TorchModel.load(dir)) {
            m.parameter(TENSOR)[0].setAtIndex(ValueLayout.JAVA_FLOAT, 0, Float.MAX_VALUE);
            m.save(tmp.resolve("f32"), dev.wmss.kernels.DType.F32, 0);
            assertThrows(NonFiniteException.class, () -> m.save(tmp.resolve("bf16"), dev.wmss.kernels.DType.BF16, 0));
        }
    }

    @Test
    void aTruncatedOptimizerStateNamesItsFile(@TempDir Path tmp) throws Exception {
        Path file = tmp.resolve("optimizer.pt");
        try (TorchModel m = TorchModel.init(TorchModelTest.TINY, 1)) {
            m.adamW(1e-3, 0.9, 0.999, 1e-8, 0);
            m.saveOptimizer(file);
            byte[] whole = Files.readAllBytes(file);
            Files.write(file, Arrays.copyOf(whole, whole.length / 2));
            WmssException e = assertThrows(WmssException.class, () -> m.loadOptimizer(file));
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("truncated or corrupt"),
                    e.getMessage());
        }
    }
}
