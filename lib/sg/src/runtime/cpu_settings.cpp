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

void set_threads(int64_t num_threads, int64_t local_processes) {
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  at::set_num_threads(int(num_threads > 0 ? num_threads : std::max<int64_t>(1, cores / std::max<int64_t>(1, local_processes))));
}

}  // namespace sg
