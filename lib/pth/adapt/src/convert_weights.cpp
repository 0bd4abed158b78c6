#include "convert_weights.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "data_error.hpp"
#include "pth/message.hpp"

namespace pth::adapt_detail {

void convert_weights(Doc& doc, DType to, AdaptResult& r) {
  struct Job {
    Entry* entry;
    const Weights* weights;
  };
  std::vector<Job> jobs;
  auto collect = [&](Weights& w) {
    for (Entry& e : w.entries) {
      if (!e.value.is_tensor()) continue;
      const DType d = e.value.as_tensor()->dtype;
      if (dtype_is_floating(d) && d != to) jobs.push_back({&e, &w});
    }
  };
  collect(doc.net);
  if (doc.ema) collect(*doc.ema);
  std::stable_sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
    return a.entry->value.as_tensor()->nbytes() > b.entry->value.as_tensor()->nbytes();
  });
  std::atomic<size_t> next{0};
  std::mutex failed_mutex;
  std::optional<AdaptError> failed;
  auto work = [&] {
    for (size_t i; (i = next.fetch_add(1)) < jobs.size();) {
      Entry& e = *jobs[i].entry;
      try {
        e.value = Value::tensor(convert_tensor(e.value.as_tensor(), to));
      } catch (const std::exception& ex) {
        std::lock_guard<std::mutex> lock(failed_mutex);
        if (!failed) failed = data_error(jobs[i].weights->file, what_of(*jobs[i].weights) + pth::quoted(e.name) + ": ", ex);
        next = jobs.size();
      }
    }
  };
  const size_t threads = std::min<size_t>(jobs.size(), std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  if (failed) throw *failed;
  r.converted = jobs.size();
}

}  // namespace pth::adapt_detail
