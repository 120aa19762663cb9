// Thread policy of libwmss_torch's CPU ops.
#pragma once

namespace wmss {

/**
 * Gives libtorch's intra-op pool its threads on the calling thread, by the process-wide policy: the count set with
 * wmss_torch_set_num_threads, else every core (OMP_NUM_THREADS when set) where OpenMP workers wait passively
 * (OMP_WAIT_POLICY=passive, or GOMP_SPINCOUNT <= 10000), else one. Spinning OpenMP workers take the cores that
 * OpenBLAS's own pool needs for every matrix product: with them, two intra-op threads make a training step slower
 * than one. Debian's libtorch leaves the OpenMP ICV of threads it did not start at 1, and Java calls arrive on any
 * thread, so the setting is made per call (a no-op when already right).
 */
void use_all_cores();

/** The intra-op thread count use_all_cores applies. */
int intra_op_threads();

/** Whether libgomp was told to wait passively (read from the environment it read when it started). */
bool passive_wait();

}  // namespace wmss
