#pragma once
// The data loader: batches of transformed samples built by background worker threads, each
// batch a pure function of (seed, epoch, batch index), so that a resumed run sees exactly
// the batches an uninterrupted one would, whatever the number of workers.
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <torch/types.h>

#include "image/transforms.hpp"
#include "sg/data/datasets.hpp"
#include "sg/data/mixup.hpp"
#include "sg/data/sample_source.hpp"

namespace sg {

struct Batch {
  torch::Tensor images;   // float32 (N, C, H, W)
  torch::Tensor labels;   // int64 (N)
  torch::Tensor targets;  // float32 (N, classes) soft targets when the loader mixes (CollateMixup), else undefined
  int64_t index = 0;      // batch index within the epoch
};

// This process's share of every epoch in a data-parallel run, as torch's DistributedSampler
// takes it: the epoch's order (the same on every process), padded with its own first
// positions to a multiple of `count` when `pad` is set, then every count-th position from
// `rank`. Validation goes unpadded, so that the shares' metric counts add up to the
// one-process counts.
struct Shard {
  int64_t rank = 0;
  int64_t count = 1;
  bool pad = true;
};

struct LoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = false;
  bool drop_last = false;
  uint64_t seed = 0;
  int64_t max_batches = -1;   // stop an epoch early (quick runs); -1 for all
  int64_t num_workers = 0;    // threads building batches; 0: next() builds each batch itself
  int64_t prefetch = 2;       // batches prepared ahead per worker (PyTorch's prefetch_factor)
  std::optional<MixupOptions> mixup;   // SG's CollateMixup on each batch, drawn from (seed, epoch, batch index)
  Shard shard;                         // the whole dataset unless a data-parallel run sets it
};

class DataLoader {
 public:
  // `source` must outlive the loader. Sample i of epoch e is transformed with randomness from
  // image::sample_seed(options.seed, e, i) alone: not from its place in a batch or a thread.
  DataLoader(const SampleSource& source, image::Pipeline transforms, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // The batches an epoch yields (at most options.max_batches), and those of the whole
  // dataset (this process's shard of it), which SG's LR schedules count an epoch in whatever
  // max_train_batches cuts.
  int64_t batches_per_epoch() const;
  int64_t batches_in_dataset() const;
  // Starts producing the batches of `epoch` from `first_batch` on, in the background.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the current epoch, in order; false at its end. A worker's error is
  // thrown here once, in place of the batch it was building; the epoch then ends.
  bool next(Batch& batch);

 private:
  int64_t samples_in_shard() const;
  Batch make_batch(int64_t epoch, int64_t index, const std::vector<int64_t>& order) const;
  void work(int64_t epoch, const std::vector<int64_t>* order);
  void stop();

  const SampleSource& source_;
  image::Pipeline transforms_;
  LoaderOptions options_;
  std::vector<int64_t> order_;
  int64_t epoch_ = 0;
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<int64_t, Batch> ready_;     // built, not yet taken, by batch index
  int64_t next_to_take_ = 0, next_to_build_ = 0, end_ = 0;
  int64_t running_ = 0;                // workers not yet exited
  bool stopping_ = false;
  std::exception_ptr error_;
  int64_t error_batch_ = 0;
};

}  // namespace sg
