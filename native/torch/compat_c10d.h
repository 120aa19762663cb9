// The c10d side of compat.h: in libtorch 2.x the Gloo and NCCL process groups are c10d::Backend objects (a
// c10d::ProcessGroup wraps them); in 1.13 they are c10d::ProcessGroup subclasses. Both offer the same collectives.
#pragma once
#include <torch/csrc/distributed/c10d/Store.hpp>

#include "compat.h"

#if WMSS_TORCH_AT_LEAST(2, 4)
#include <torch/csrc/distributed/c10d/Backend.hpp>
namespace wmss::compat {
using Collectives = c10d::Backend;
}
#else
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
namespace wmss::compat {
using Collectives = c10d::ProcessGroup;
}
#endif
