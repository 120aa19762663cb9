package dev.wmss.train.loop;

import dev.wmss.kernels.DType;
import dev.wmss.runtime.WmssTorch;
import dev.wmss.runtime.TorchModel;

import java.nio.file.Path;
import java.util.Locale;

/**
 * Where a command's models run and in which precision: a device ("cpu", "cuda:N") and {@link DType#F32} or
 * {@link DType#BF16} (bf16 products and activations, fp32 master weights and AdamW state). One per process, set by
 * the command line ({@code --device}, {@code --precision}) before any model is made; every model the application
 * loads or creates goes there through {@link #load} and {@link #init}. Checkpoints and exports are the same
 * safetensors whatever the placement.
 */
public record Placement(String device, DType precision) {
    private static volatile Placement current;

    public Placement {
        if (device == null || precision == null) throw new IllegalArgumentException("device and precision are required");
    }

    /**
     * device null: CUDA when this build has it and a device is visible, else the CPU; precision null: bf16 on CUDA,
     * fp32 on the CPU. "cuda" without an index is this rank's device, cuda:LOCAL_RANK, under a data-parallel launcher
     * (torchrun's variable), else cuda:0. The device itself is checked when the first model moves there.
     */
    public static Placement resolve(String device, DType precision) {
        String local = System.getenv("LOCAL_RANK");
        int localRank = local != null && local.matches("\\d{1,3}") ? Integer.parseInt(local) : -1;
        return resolve(device, precision, localRank, device == null || device.isBlank() ? WmssTorch.cudaDeviceCount() : 0);
    }

    /** {@link #resolve(String, DType)} with the local rank (-1: none) and the CUDA devices visible given. */
    static Placement resolve(String device, DType precision, int localRank, int cudaDevices) {
        String d = device == null || device.isBlank() ? (cudaDevices > 0 ? "cuda" : "cpu") : device.trim().toLowerCase(Locale.ROOT);
        if (!d.matches("cpu|cuda(:\\d{1,3})?")) {
            throw new IllegalArgumentException("--device " + device + ": expected cpu, cuda or cuda:N");
        }
        if (d.equals("cuda")) d = "cuda:" + Math.max(localRank, 0);
        return new Placement(d, precision != null ? precision : d.equals("cpu") ? DType.F32 : DType.BF16);
    }

    /** The process's placement (the default one until a command sets it). */
    public static Placement current() {
        Placement p = current;
        if (p == null) {
            synchronized (Placement.class) {
                if ((p = current) == null) current = p = resolve(null, null);
            }
        }
        return p;
    }

    public static void use(Placement p) {
        current = p;
    }

    public boolean cuda() {
        return device.startsWith("cuda");
    }

    /** A checkpoint directory's model, read straight into place here (no copy of it on the host first). */
    public TorchModel load(Path dir) {
        return TorchModel.load(dir, device, precision);
    }

    /** A randomly initialised model (initialised on the CPU, so the same seed gives the same weights anywhere). */
    public TorchModel init(String configJson, long seed) {
        return place(TorchModel.init(configJson, seed));
    }

    private TorchModel place(TorchModel m) {
        if (device.equals("cpu") && precision == DType.F32) return m;
        try {
            return m.to(device, precision);
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    /** The fused head's default chunk budget here: 320 MiB on the CPU (OpenBLAS's sweet spot), 1 GiB on CUDA. */
    public long defaultHeadChunkBytes() {
        return cuda() ? 1L << 30 : 320L << 20;
    }

    @Override
    public String toString() {
        return device + ", " + (precision == DType.BF16 ? "bf16" : "fp32");
    }
}
