// device.h's CUDA services for a CPU libtorch (Debian's 1.13, or a CPU wheel): there is no CUDA device.
#include "device.h"
#include "error.h"

namespace wmss::cuda {

bool built() { return false; }
int device_count() { return 0; }

[[noreturn]] static void none() { throw Error{WMSS_ERR_NO_DEVICE, "this libwmss_torch is built against a CPU libtorch"}; }

void synchronize(int) { none(); }
void memory(int, int64_t[4]) { none(); }
void reset_peak(int) { none(); }

}  // namespace wmss::cuda
