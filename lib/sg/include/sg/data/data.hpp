#pragma once
// Image datasets held in memory as uint8 pixels, augmentation, and a background loader
// whose every batch is a pure function of (seed, epoch, batch index), so that a resumed
// run sees exactly the batches an uninterrupted one would.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <torch/types.h>

namespace sg {

struct ImageDataset {
  int64_t size = 0, channels = 0, height = 0, width = 0;
  int64_t num_classes = 0;
  std::vector<uint8_t> pixels;   // size * channels * height * width, CHW per image
  std::vector<int64_t> labels;   // size
};

// Fashion-MNIST / MNIST IDX files, gzipped or not. Throws std::runtime_error naming the
// file and the problem (missing, bad magic, truncated, counts that disagree).
ImageDataset load_idx(const std::string& images_path, const std::string& labels_path);
// CIFAR-10 binary batches from a folder (data_batch_1..5.bin or test_batch.bin).
ImageDataset load_cifar10(const std::string& folder, bool train);
// Learnable random images for tests and benchmarks: class k has a distinct pattern.
ImageDataset make_synthetic(int64_t size, int64_t channels, int64_t height, int64_t width, int64_t num_classes,
                            uint64_t seed);

struct Augmentation {
  int64_t crop_padding = 0;      // random crop of the original size after zero padding
  bool horizontal_flip = false;
  std::vector<float> mean, std;  // per channel, on pixels scaled to [0, 1]
};

struct Batch {
  torch::Tensor images;   // float32 (N, C, H, W)
  torch::Tensor labels;   // int64 (N)
  int64_t index = 0;      // batch index within the epoch
};

struct LoaderOptions {
  int64_t batch_size = 64;
  bool shuffle = false;
  bool drop_last = false;
  uint64_t seed = 0;
  int64_t max_batches = -1;   // stop an epoch early (quick runs); -1 for all
  int64_t prefetch = 4;       // batches prepared ahead on the background thread
};

class DataLoader {
 public:
  DataLoader(const ImageDataset& data, Augmentation augmentation, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  int64_t batches_per_epoch() const;
  // Starts producing the batches of `epoch` from `first_batch` on, in the background.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the current epoch; false at its end.
  bool next(Batch& batch);

 private:
  Batch make_batch(int64_t epoch, int64_t index, const std::vector<int64_t>& order) const;
  void produce(int64_t epoch, int64_t first_batch);
  void stop();

  const ImageDataset& data_;
  Augmentation augmentation_;
  LoaderOptions options_;
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Batch> ready_;
  bool finished_ = true;
  bool stopping_ = false;
  std::exception_ptr error_;   // thrown by the worker, rethrown by next()
};

}  // namespace sg
