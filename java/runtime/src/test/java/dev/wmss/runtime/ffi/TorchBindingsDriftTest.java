package dev.wmss.runtime.ffi;

import dev.wmss.kernels.ffi.BindingsDriftTest;
import org.junit.jupiter.api.Test;

import java.io.IOException;

/** wmss_torch.h's generated bindings against the header, by the kernels' drift checks (BindingsDriftTest). */
class TorchBindingsDriftTest {
    @Test
    void wmssTorchBindingsMatchTheHeader() throws IOException {
        BindingsDriftTest.assertSameFunctions("wmss_torch.h", WmssTorchH.class);
    }

    @Test
    void fusedHeadDescriptorLayoutMatchesTheHeader() throws IOException {
        BindingsDriftTest.assertSameLayout("wmss_torch.h", "wmss_torch_fused_head_args", wmss_torch_fused_head_args.LAYOUT);
    }
}
