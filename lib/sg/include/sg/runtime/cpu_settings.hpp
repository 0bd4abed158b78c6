#pragma once
// Process-wide CPU settings of a program that trains or evaluates.
#include <cstdint>

namespace sg {

// LibTorch's intra-op threads: `num_threads`, or when 0 the cores shared out among the
// `local_processes` training on this machine (every core for one; LibTorch's own default
// can be one thread where OpenMP miscounts the cores).
void set_threads(int64_t num_threads, int64_t local_processes = 1);

// Every step frees and reallocates the same activation buffers. glibc's default returns
// such memory to the kernel (munmap, heap trimming) and faults it back in on the next
// step; keeping it in the heap makes a CPU step ~1.5x faster (bench-train, bench-eval).
void keep_freed_memory_for_reuse();

}  // namespace sg
