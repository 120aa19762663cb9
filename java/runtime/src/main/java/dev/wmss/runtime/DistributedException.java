package dev.wmss.runtime;

import dev.wmss.kernels.error.Status;
import dev.wmss.kernels.error.WmssException;

/**
 * A collective of a {@link ProcessGroup} failed: another rank exited, hung past the group's timeout, the ranks
 * could not meet at start-up, or the network failed. The group cannot be used again: close it and exit non-zero.
 * Its status is {@link Status#DISTRIBUTED} (native {@code WMSS_TORCH_ERR_DIST} of wmss_torch.h).
 */
public final class DistributedException extends WmssException {
    /** The native status code of wmss_torch.h ({@link Status#DISTRIBUTED}'s code). */
    public static final int NATIVE_CODE = 64;

    public DistributedException(String message) {
        super(Status.DISTRIBUTED, message);
    }
}
