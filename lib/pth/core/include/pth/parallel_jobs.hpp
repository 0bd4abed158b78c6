#pragma once
// Bulk copies (loading a checkpoint, staging a snapshot) spread over the machine's cores:
// one thread copying into fresh memory is bound by its own page faults and cache misses,
// not by the memory bus.
#include <cstdint>
#include <functional>
#include <vector>

namespace pth {

// Runs job(i) once for every i < costs.size(): the costliest first, each thread taking
// the next job not yet taken, on up to four threads (the calling one included). Below
// 16 MiB of total cost, or on one core, everything runs on the calling thread. If a job
// throws, jobs not yet started are skipped and the first exception is rethrown once every
// thread has stopped.
void run_jobs(const std::vector<uint64_t>& costs, const std::function<void(size_t)>& job);

}  // namespace pth
