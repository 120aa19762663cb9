// A caching CPU allocator for libtorch, installed when libwmss_torch loads: a training step allocates and frees the
// same activation and gradient buffers every step, and each fresh large buffer costs page faults and zeroing by the
// kernel (a tenth of a small model's step). Freed blocks of 256 KiB and more are kept by size class (an eighth of
// a power of two apart, so shapes that vary a little share blocks) and handed out again; smaller ones go straight
// to libtorch's own allocation functions. The cache holds at most WMSS_TORCH_CACHE_MB MiB of free blocks (default:
// a quarter of physical memory; 0 turns the cache off), and is emptied and the allocation retried when memory runs
// out. It never makes the process larger than the peak of what it has in use: before a block is allocated afresh,
// free blocks are given back, least recently used size class first, until the blocks in use and the cached ones
// together fit under that peak. Without that rule, batches of changing length (their padded sequence length moves
// every step's activations, and the attention's T x T ones, into other size classes) left each class's blocks
// cached: a 9.8M-parameter model at a 151,669-token vocabulary grew from 0.9 to 4.1 GB over 20 SFT steps of
// GSM8K, where 1.1 GB suffice without the cache. Repeated shapes (every step the same) still hit and never evict.
#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "allocator.h"
#include "compat.h"
#include "error.h"
#include "wmss_torch.h"

namespace {

constexpr size_t kMinCached = 256 << 10;

/** Size rounded up to its class: multiples of 1/8 of the largest power of two not above it. */
size_t size_class(size_t n) {
    size_t p = 1;
    while (p <= n / 2) p <<= 1;
    const size_t step = std::max<size_t>(p / 8, 4096);
    return (n + step - 1) / step * step;
}

size_t cache_limit() {
    if (const char *env = std::getenv("WMSS_TORCH_CACHE_MB")) {
        char *end = nullptr;
        const long long mb = std::strtoll(env, &end, 10);
        if (end != env && mb >= 0) return (size_t)mb << 20;
    }
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? (size_t)pages * (size_t)page / 4 : (size_t)1 << 30;
}

class CachingCpuAllocator final : public at::Allocator {
  public:
    CachingCpuAllocator() : limit_(cache_limit()) {}

    at::DataPtr allocate(size_t n) WMSS_ALLOCATE_CONST override {
        if (n < kMinCached || limit_ == 0) {
            void *p = c10::alloc_cpu(n);
            return {p, p, &c10::free_cpu, at::Device(at::DeviceType::CPU)};
        }
        const size_t size = size_class(n);
        void *p = take(size);
        if (!p) {
            make_room();
            try {
                p = c10::alloc_cpu(size);
            } catch (const c10::Error &) {
                empty(); // out of memory: give the cached blocks back and try once more
                try {
                    p = c10::alloc_cpu(size);
                } catch (...) {
                    std::lock_guard<std::mutex> g(mu_);
                    live_ -= size;
                    throw;
                }
            }
        }
        {
            std::lock_guard<std::mutex> g(mu_);
            sizes_[p] = size;
        }
        return {p, p, &CachingCpuAllocator::release, at::Device(at::DeviceType::CPU)};
    }

    // The pointer is its own context (libtorch's raw_allocate, used by its bf16 matrix products, requires that) and
    // one deleter serves every block: a cached block is found by its address.
    at::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::release; }
    WMSS_ALLOCATOR_COPY_DATA

    static CachingCpuAllocator &instance() {
        static CachingCpuAllocator *a = new CachingCpuAllocator(); // never destroyed: tensors may outlive statics
        return *a;
    }

    wmss::CacheStats stats() const {
        std::lock_guard<std::mutex> g(mu_);
        return {cached_, limit_, hits_, misses_};
    }

    void empty() const {
        std::vector<void *> drop;
        {
            std::lock_guard<std::mutex> g(mu_);
            for (auto &kv : free_)
                for (void *p : kv.second) drop.push_back(p);
            free_.clear();
            cached_ = 0;
        }
        for (void *p : drop) c10::free_cpu(p);
    }

  private:
    void *take(size_t size) const {
        std::lock_guard<std::mutex> g(mu_);
        last_use_[size] = ++tick_;
        live_ += size; // taken from the cache, or allocated right after this miss
        auto it = free_.find(size);
        if (it == free_.end() || it->second.empty()) {
            misses_++;
            return nullptr;
        }
        void *p = it->second.back();
        it->second.pop_back();
        cached_ -= size;
        hits_++;
        return p;
    }

    /**
     * Before a fresh block (already counted in use): the peak of bytes in use rises to what is in use now if
     * that is more, and cached blocks of the least recently used classes are freed while the blocks in use and the
     * cached ones exceed that peak.
     */
    void make_room() const {
        std::vector<void *> drop;
        {
            std::lock_guard<std::mutex> g(mu_);
            peak_live_ = std::max(peak_live_, live_);
            while (cached_ > 0 && live_ + cached_ > peak_live_) {
                auto oldest = free_.end();
                for (auto it = free_.begin(); it != free_.end(); ++it)
                    if (!it->second.empty() && (oldest == free_.end() || last_use_[it->first] < last_use_[oldest->first]))
                        oldest = it;
                if (oldest == free_.end()) break;
                drop.push_back(oldest->second.back());
                oldest->second.pop_back();
                cached_ -= oldest->first;
                if (oldest->second.empty()) free_.erase(oldest);
            }
        }
        for (void *p : drop) c10::free_cpu(p);
    }

    static void release(void *p) { instance().put(p); }

    void put(void *p) const {
        {
            std::lock_guard<std::mutex> g(mu_);
            const auto it = sizes_.find(p);
            if (it != sizes_.end()) { // a cached-size block: keep it unless the cache is full
                const size_t size = it->second;
                sizes_.erase(it);
                live_ -= size;
                if (cached_ + size <= limit_) {
                    free_[size].push_back(p);
                    cached_ += size;
                    return;
                }
            } // else a small block, released through raw_deleter
        }
        c10::free_cpu(p);
    }

    const size_t limit_;
    mutable std::mutex mu_;
    mutable std::map<size_t, std::vector<void *>> free_;
    mutable std::unordered_map<void *, size_t> sizes_; // blocks handed out: their size class
    mutable std::map<size_t, size_t> last_use_; // size class -> tick of its last allocation
    mutable size_t cached_ = 0, hits_ = 0, misses_ = 0, tick_ = 0, live_ = 0, peak_live_ = 0;
};

/** Installs the allocator when the library loads (libc10, a dependency, is initialised by then). */
struct Install {
    Install() {
        if (cache_limit() > 0) c10::SetCPUAllocator(&CachingCpuAllocator::instance(), /*priority=*/1);
    }
} install;

}  // namespace

wmss::CacheStats wmss::cpu_cache_stats() { return CachingCpuAllocator::instance().stats(); }

void wmss::cpu_cache_empty() { CachingCpuAllocator::instance().empty(); }

extern "C" int wmss_torch_cache_stats(int64_t *out4) {
    return wmss::torch_guard("wmss_torch_cache_stats", [&] {
        if (!out4) throw wmss::Error{WMSS_ERR_NULL_POINTER, "out4 is NULL"};
        const wmss::CacheStats s = wmss::cpu_cache_stats();
        out4[0] = (int64_t)s.cached_bytes;
        out4[1] = (int64_t)s.limit_bytes;
        out4[2] = (int64_t)s.hits;
        out4[3] = (int64_t)s.misses;
    });
}

extern "C" int wmss_torch_cache_empty(void) {
    return wmss::torch_guard("wmss_torch_cache_empty", [&] { wmss::cpu_cache_empty(); });
}
