// The caching CPU allocator libwmss_torch installs into libtorch (allocator.cpp).
#pragma once
#include <cstddef>

namespace wmss {

struct CacheStats {
    size_t cached_bytes, limit_bytes, hits, misses;
};

CacheStats cpu_cache_stats();
/** Returns every cached free block to the system. */
void cpu_cache_empty();

}  // namespace wmss
