package dev.wmss.runtime;

import java.nio.file.Files;
import java.nio.file.Path;

/** Loads args[0] in a JVM of its own and prints the peak RSS growth the load caused: "loaded N bytes of peak growth". */
public final class LoadProbeMain {
    private LoadProbeMain() {}

    static long status(String key) throws Exception {
        for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (l.startsWith(key)) return 1024L * Long.parseLong(l.replaceAll("\\D", ""));
        }
        return -1;
    }

    public static void main(String[] args) throws Exception {
        WmssTorch.setNumThreads(1); // libwmss_torch and libtorch loaded before the baseline
        long before = status("VmRSS:");
        Files.writeString(Path.of("/proc/self/clear_refs"), "5"); // the peak (VmHWM) from here
        try (TorchModel m = TorchModel.load(Path.of(args[0]), "cpu", dev.wmss.kernels.DType.F32)) {
            System.out.println("loaded " + (status("VmHWM:") - before) + " bytes of peak growth, " + m.parameterCount()
                    + " parameters");
        }
    }
}
