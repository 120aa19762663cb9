// Thread policy of libwmss_torch's CPU ops.
#pragma once

namespace wmss {

/**
 * Gives libtorch's intra-op pool every core (OMP_NUM_THREADS when set) on the calling thread. Debian's libtorch
 * leaves the OpenMP ICV of threads it did not start at 1, and Java calls arrive on any thread, so the setting is
 * made per call (a no-op when already right).
 */
void use_all_cores();

}  // namespace wmss
