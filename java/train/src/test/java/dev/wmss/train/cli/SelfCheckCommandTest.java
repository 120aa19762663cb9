package dev.wmss.train.cli;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.wmss.runtime.FusedHead;
import dev.wmss.runtime.TorchModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/**
 * selfcheck on the CPU: every check passes in fp32 and in bf16 (against fp32), and the comparison with a model saved
 * elsewhere reads the reference format, passes on the right logits and fails on perturbed ones.
 */
class SelfCheckCommandTest {
    @Test
    void everyCheckPassesOnTheCpuInBothPrecisions() {
        CliRun r = CliRun.of("selfcheck", "--device", "cpu", "--checks", "kernels,step,generation");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("PASS ce_mix bf16 2x262147 in place") && r.out().contains("PASS WD-JT step (cpu, fp32)")
                && r.out().contains("PASS generation") && r.out().contains("all 10 checks passed"), r.out());
        r = CliRun.of("selfcheck", "--device", "cpu", "--precision", "bf16", "--checks", "step");
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("PASS WD-JT step (cpu, bf16)"), r.out());
    }

    @Test
    void aDeviceThatIsNotThereIsAnErrorNotACheck() {
        CliRun r = CliRun.of("selfcheck", "--device", "tpu");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("expected cpu, cuda or cuda:N"), r.err());
        r = CliRun.of("selfcheck", "--checks", "kernels,nonsense");
        assertTrue(r.err().contains("unknown check nonsense"), r.err());
    }

    /** The reference format of benchmarks/gpu/hf_reference.py, made from the test checkpoint and its independent logits. */
    @Test
    void theTransformersComparisonReadsItsFormatAndCanFail(@TempDir Path tmp) throws Exception {
        // the kernels module's test checkpoint (surefire runs in java/train)
        Path src = Path.of("../runtime/src/test/resources/models/tiny-qwen3").toAbsolutePath().normalize();
        assertTrue(Files.exists(src.resolve("expected.json")), src.toString());
        Path ref = tmp.resolve("refs"), d = ref.resolve("tiny-qwen3");
        Files.createDirectories(d);
        for (String f : new String[]{"config.json", "model.safetensors"}) Files.copy(src.resolve(f), d.resolve(f));
        JsonObject expected = JsonParser.parseString(Files.readString(src.resolve("expected.json"))).getAsJsonObject();
        // the first row only: it has no padding (the reference format has no mask)
        JsonArray ids = expected.getAsJsonArray("ids"), all = expected.getAsJsonArray("logits");
        int t = ids.get(0).getAsJsonArray().size(), v = all.size() / (ids.size() * t), b = 1;
        JsonArray logits = new JsonArray();
        for (int i = 0; i < t * v; i++) logits.add(all.get(i));
        ByteBuffer idBytes = ByteBuffer.allocate(8 * b * t).order(ByteOrder.LITTLE_ENDIAN);
        long[] flat = new long[b * t];
        for (int i = 0; i < b; i++) for (int j = 0; j < t; j++) idBytes.putLong(flat[i * t + j] = ids.get(i).getAsJsonArray().get(j).getAsLong());
        ByteBuffer zBytes = ByteBuffer.allocate(4 * logits.size()).order(ByteOrder.LITTLE_ENDIAN);
        float[] z = new float[logits.size()];
        for (int i = 0; i < z.length; i++) zBytes.putFloat(z[i] = logits.get(i).getAsFloat());
        Files.write(d.resolve("ids.bin"), idBytes.array());
        Files.write(d.resolve("logits.bin"), zBytes.array());
        // the loss from the independent logits in float64; the gradient norm from this implementation (plumbing only)
        double loss = 0;
        int n = 0;
        for (int r = 0; r < b * t; r++) {
            if (r % t == t - 1) continue;
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int k = 0; k < v; k++) max = Math.max(max, z[r * v + k]);
            for (int k = 0; k < v; k++) sum += Math.exp(z[r * v + k] - max);
            loss += max + Math.log(sum) - z[(int) (r * v + flat[r + 1])];
            n++;
        }
        loss /= n;
        double norm;
        try (Arena arena = Arena.ofConfined(); TorchModel m = TorchModel.load(d)) {
            long[] labels = new long[b * t];
            for (int r = 0; r < b * t; r++) labels[r] = r % t == t - 1 ? -100 : flat[r + 1];
            m.forwardHidden(arena.allocateFrom(ValueLayout.JAVA_LONG, flat), null, b, t, true);
            FusedHead.of(m, null, arena.allocateFrom(ValueLayout.JAVA_LONG, labels), (long) b * t).invNorm(1f / n).run();
            norm = m.gradNorm();
        }
        Files.writeString(d.resolve("reference.json"), "{\"batch\": %d, \"seq\": %d, \"vocab\": %d, \"loss\": %.9f, \"grad_norm\": %.9f}"
                .formatted(b, t, v, loss, norm));
        CliRun r = CliRun.of("selfcheck", "--device", "cpu", "--checks", "step", "--hf-reference", ref.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("PASS vs transformers: tiny-qwen3 (cpu, fp32)"), r.out());
        zBytes.putFloat(4 * 123, z[123] + 0.05f); // one logit off
        Files.write(d.resolve("logits.bin"), zBytes.array());
        r = CliRun.of("selfcheck", "--device", "cpu", "--checks", "step", "--hf-reference", ref.toString());
        assertEquals(1, r.code(), r.out());
        assertTrue(r.out().contains("FAIL vs transformers: tiny-qwen3"), r.out());
    }
}
