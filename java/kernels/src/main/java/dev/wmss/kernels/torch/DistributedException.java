package dev.wmss.kernels.torch;

import dev.wmss.kernels.Status;
import dev.wmss.kernels.WmssException;

/**
 * A collective of a {@link ProcessGroup} failed: another rank exited, hung past the group's timeout, the ranks
 * could not meet at start-up, or the network failed. The group cannot be used again: close it and exit non-zero.
 * (Native status {@code WMSS_TORCH_ERR_DIST}; reported with {@link Status#INTERNAL} as wmss.h has no code for it.)
 */
public final class DistributedException extends WmssException {
    /** The native status code of wmss_torch.h. */
    public static final int NATIVE_CODE = 64;

    public DistributedException(String message) {
        super(Status.INTERNAL, message);
    }
}
