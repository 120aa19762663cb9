package dev.wmss.train.loop;

import dev.wmss.kernels.DType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.*;

/**
 * Where models go by default: CUDA and bf16 where a device is visible, each data-parallel rank on its own device
 * (LOCAL_RANK), the CPU and fp32 elsewhere; an explicit device or precision wins; a device that is no device is refused.
 */
class PlacementTest {
    @Test
    void defaultsFollowTheDevicesAndTheRank() {
        assertEquals(new Placement("cpu", DType.F32), Placement.resolve(null, null, -1, 0));
        assertEquals(new Placement("cpu", DType.F32), Placement.resolve(null, null, 3, 0), "no GPU: the rank does not matter");
        assertEquals(new Placement("cuda:0", DType.BF16), Placement.resolve(null, null, -1, 2));
        assertEquals(new Placement("cuda:1", DType.BF16), Placement.resolve(null, null, 1, 2), "rank 1 of a node: its own GPU");
        assertEquals(new Placement("cuda:3", DType.BF16), Placement.resolve("cuda", null, 3, 0));
        assertEquals(new Placement("cuda:0", DType.BF16), Placement.resolve("CUDA:0", null, 3, 4), "an index given wins");
        assertEquals(new Placement("cuda:2", DType.F32), Placement.resolve("cuda:2", DType.F32, -1, 4));
        assertEquals(new Placement("cpu", DType.BF16), Placement.resolve("cpu", DType.BF16, -1, 4));
        assertTrue(new Placement("cuda:1", DType.BF16).cuda());
        assertEquals(1L << 30, new Placement("cuda:1", DType.BF16).defaultHeadChunkBytes());
        assertEquals(320L << 20, new Placement("cpu", DType.F32).defaultHeadChunkBytes());
    }

    @Test
    void anUnknownDeviceIsRefusedByName() {
        for (String bad : new String[]{"gpu", "cuda:", "cuda:x", "tpu:0", "cuda:1:2"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Placement.resolve(bad, null, -1, 1), bad);
            assertTrue(e.getMessage().contains("--device " + bad) && e.getMessage().contains("expected cpu, cuda or cuda:N"),
                    e.getMessage());
        }
    }
}
