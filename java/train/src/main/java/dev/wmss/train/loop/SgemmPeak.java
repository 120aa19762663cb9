package dev.wmss.train.loop;

import dev.wmss.runtime.WmssTorch;
import dev.wmss.runtime.TorchModel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Locale;

/**
 * The reference of the MFU in the step log, measured once per process the first time a run asks for it: on the CPU
 * this machine's sgemm rate (a large fp32 matrix product through libtorch, with the threads training uses); on CUDA
 * the device's matrix-product rate in the run's precision ({@link Placement}).
 */
public final class SgemmPeak {
    private static final Logger LOG = LoggerFactory.getLogger("dev.wmss.train");
    private static volatile double flopsPerSecond;

    private SgemmPeak() {}

    /** FLOP/s, measured on first use. */
    public static double get() {
        double p = flopsPerSecond;
        if (p == 0) {
            synchronized (SgemmPeak.class) {
                if ((p = flopsPerSecond) == 0) {
                    Placement where = Placement.current();
                    if (!where.cuda()) {
                        flopsPerSecond = p = TorchModel.sgemmPeak();
                        LOG.info(String.format(Locale.ROOT, "sgemm peak %.1f GFLOP/s (measured; libtorch intra-op threads %d, "
                                + "OpenMP wait %s): the reference of the MFU", p / 1e9, WmssTorch.numThreads(),
                                WmssTorch.passiveWait() ? "passive" : "active"));
                    } else {
                        flopsPerSecond = p = WmssTorch.matmulPeak(where.device(), where.precision());
                        LOG.info(String.format(Locale.ROOT, "matmul peak on %s %.1f TFLOP/s (measured on random data):"
                                + " the reference of the MFU", where, p / 1e12));
                    }
                }
            }
        }
        return p;
    }
}
