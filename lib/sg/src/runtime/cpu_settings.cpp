#include "sg/runtime/cpu_settings.hpp"

#include <malloc.h>

#include <ATen/Parallel.h>

#include <algorithm>
#include <thread>

namespace sg {

void keep_freed_memory_for_reuse() {
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

void set_threads(int64_t num_threads) {
  at::set_num_threads(num_threads > 0 ? int(num_threads) : int(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace sg
