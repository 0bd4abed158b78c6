#include "pth/parallel_jobs.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <numeric>
#include <system_error>
#include <thread>

namespace pth {
namespace {

constexpr uint64_t kParallelFrom = uint64_t(16) << 20;
// Past four threads a copy gains nothing on common machines: the memory bus is saturated.
constexpr unsigned kMaxThreads = 4;

unsigned thread_count(const std::vector<uint64_t>& costs) {
  const uint64_t total = std::accumulate(costs.begin(), costs.end(), uint64_t(0));
  if (total < kParallelFrom) return 1;
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  return unsigned(std::min<size_t>({cores, kMaxThreads, costs.size()}));
}

}  // namespace

void run_jobs(const std::vector<uint64_t>& costs, const std::function<void(size_t)>& job) {
  std::vector<size_t> order(costs.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return costs[a] > costs[b]; });

  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_failure;
  std::mutex failure_mutex;
  auto work = [&] {
    while (!failed.load(std::memory_order_relaxed)) {
      const size_t i = next.fetch_add(1);
      if (i >= order.size()) return;
      try {
        job(order[i]);
      } catch (...) {
        std::lock_guard<std::mutex> lock(failure_mutex);
        if (!first_failure) first_failure = std::current_exception();
        failed = true;
      }
    }
  };

  std::vector<std::thread> helpers;
  for (unsigned t = 1; t < thread_count(costs); ++t) {
    try {
      helpers.emplace_back(work);
    } catch (const std::system_error&) {
      break;   // no more threads to be had: the ones started (and this one) do the rest
    }
  }
  work();
  for (std::thread& h : helpers) h.join();
  if (first_failure) std::rethrow_exception(first_failure);
}

}  // namespace pth
