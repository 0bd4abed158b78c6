// pth::run_jobs: every job once, the costliest first, on several threads when there is
// enough work, and a failing job's exception carried back to the caller.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "pth/parallel_jobs.hpp"

namespace {
constexpr uint64_t kMiB = uint64_t(1) << 20;
}

TEST_CASE("small work runs on the calling thread, costliest job first") {
  const std::vector<uint64_t> costs = {10, 300, 20, 300, 5};
  std::vector<size_t> ran;
  std::vector<std::thread::id> threads;
  pth::run_jobs(costs, [&](size_t i) {   // one thread: no locking needed
    ran.push_back(i);
    threads.push_back(std::this_thread::get_id());
  });
  CHECK(ran == std::vector<size_t>{1, 3, 2, 0, 4});
  for (const auto& id : threads) CHECK(id == std::this_thread::get_id());
}

TEST_CASE("large work runs every job exactly once, on more than one thread") {
  if (std::thread::hardware_concurrency() < 2) {
    WARN("one core: run_jobs stays on the calling thread; skipped");
    return;
  }
  const std::vector<uint64_t> costs(64, 8 * kMiB);
  std::vector<std::atomic<int>> runs(costs.size());
  // The first two jobs wait for each other, so they can only finish on two threads.
  std::mutex m;
  std::condition_variable both;
  int started = 0;
  bool met = false;
  pth::run_jobs(costs, [&](size_t i) {
    ++runs[i];
    if (i > 1) return;
    std::unique_lock<std::mutex> lock(m);
    ++started;
    both.notify_all();
    // The deadline only turns a hang into a failure; the pair normally meets at once.
    if (both.wait_for(lock, std::chrono::seconds(60), [&] { return started == 2; })) met = true;
  });
  CHECK(met);
  for (const auto& r : runs) CHECK(r.load() == 1);
}

TEST_CASE("a failing job's exception reaches the caller once every thread has stopped") {
  const std::vector<uint64_t> costs(32, 8 * kMiB);
  std::atomic<int> started{0}, finished{0};
  CHECK_THROWS_WITH(pth::run_jobs(costs,
                                  [&](size_t i) {
                                    ++started;
                                    if (i == 5) throw std::runtime_error("job 5 failed");
                                    std::this_thread::yield();
                                    ++finished;
                                  }),
                    "job 5 failed");
  CHECK(started.load() == finished.load() + 1);   // every job begun had ended: only job 5 did not finish
}
