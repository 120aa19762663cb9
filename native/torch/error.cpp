#include "error.h"

#include <torch/version.h>

#include "wmss_torch.h"

namespace {
thread_local std::string last_error;
}

void wmss::set_torch_error(const std::string &message) { last_error = message; }

extern "C" const char *wmss_torch_last_error(void) { return last_error.c_str(); }

extern "C" const char *wmss_torch_version(void) { return TORCH_VERSION; }
