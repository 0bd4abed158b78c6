// The data loader. What a batch holds depends only on (seed, epoch, batch index):
//
//   order(seed, epoch)     Fisher-Yates over a splitmix64 stream keyed by (seed, epoch)
//   shard                  this process's positions of that order (Shard; all of it alone)
//   batch b                positions [b*batch_size, (b+1)*batch_size) of the shard
//   sample i's transforms  image::Rng(image::sample_seed(seed, epoch, i)), i its dataset index
//   batch b's mixup        sg/data/mixup.hpp, keyed by (seed, epoch, b)
//
// Workers claim batch indices in order, at most prefetch * workers ahead of the consumer,
// and build each batch whole; next() hands them out by index, so the number of workers and
// their timing change nothing in what the training loop sees. With no workers, next() builds
// each batch itself, as PyTorch's DataLoader does with num_workers=0.
#include <algorithm>
#include <array>
#include <numeric>
#include <stdexcept>
#include <string>

#include "data/random.hpp"
#include "image/random.hpp"
#include "sg/data/data.hpp"

namespace sg {
namespace {

std::vector<int64_t> epoch_order(int64_t size, bool shuffle, uint64_t seed, int64_t epoch) {
  std::vector<int64_t> order(static_cast<size_t>(size));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (shuffle && size > 1) {
    data_detail::SplitMix64 rng(data_detail::key(seed, data_detail::kShuffleStream, static_cast<uint64_t>(epoch)));
    for (int64_t i = size - 1; i > 0; --i) {
      const auto j = static_cast<int64_t>(rng.below(static_cast<uint64_t>(i) + 1));
      std::swap(order[i], order[j]);
    }
  }
  return order;
}

std::vector<int64_t> shard_of(const std::vector<int64_t>& order, const Shard& shard, int64_t shard_size) {
  std::vector<int64_t> mine;
  mine.reserve(static_cast<size_t>(shard_size));
  const auto n = static_cast<int64_t>(order.size());
  for (int64_t k = 0; k < shard_size; ++k) mine.push_back(order[static_cast<size_t>((shard.rank + k * shard.count) % n)]);
  return mine;
}

std::string shape_text(const std::array<int, 3>& chw) {
  return std::to_string(chw[0]) + "x" + std::to_string(chw[1]) + "x" + std::to_string(chw[2]);
}


}  // namespace

DataLoader::DataLoader(const SampleSource& source, image::Pipeline transforms, LoaderOptions options)
    : source_(source), transforms_(std::move(transforms)), options_(options) {
  if (options_.batch_size <= 0) throw std::invalid_argument("DataLoader: batch_size must be positive");
  if (options_.num_workers < 0) throw std::invalid_argument("DataLoader: num_workers must not be negative");
  if (options_.prefetch < 1) throw std::invalid_argument("DataLoader: prefetch must be at least 1");
  if (options_.shard.count < 1 || options_.shard.rank < 0 || options_.shard.rank >= options_.shard.count)
    throw std::invalid_argument("DataLoader: shard " + std::to_string(options_.shard.rank) + " of " +
                                std::to_string(options_.shard.count));
}

DataLoader::~DataLoader() { stop(); }

int64_t DataLoader::samples_in_shard() const {
  const int64_t size = source_.size(), count = options_.shard.count, rank = options_.shard.rank;
  if (options_.shard.pad) return (size + count - 1) / count;
  return size > rank ? (size - rank + count - 1) / count : 0;
}

int64_t DataLoader::batches_in_dataset() const {
  const int64_t bs = options_.batch_size, size = samples_in_shard();
  return options_.drop_last ? size / bs : (size + bs - 1) / bs;
}

int64_t DataLoader::batches_per_epoch() const {
  const int64_t n = batches_in_dataset();
  return options_.max_batches >= 0 ? std::min(n, options_.max_batches) : n;
}

void DataLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  stop();
  const int64_t n = batches_per_epoch();
  if (first_batch < 0 || first_batch > n)
    throw std::out_of_range("DataLoader::start_epoch: first batch " + std::to_string(first_batch) +
                            " outside 0.." + std::to_string(n));
  order_ = epoch_order(source_.size(), options_.shuffle, options_.seed, epoch);
  if (options_.shard.count > 1) order_ = shard_of(order_, options_.shard, samples_in_shard());
  epoch_ = epoch;
  const int64_t workers = options_.num_workers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    next_to_take_ = next_to_build_ = first_batch;
    end_ = n;
    running_ = workers;
  }
  for (int64_t w = 0; w < workers; ++w) workers_.emplace_back(&DataLoader::work, this, epoch, &order_);
}

bool DataLoader::next(Batch& batch) {
  if (options_.num_workers == 0) {
    if (next_to_take_ >= end_) return false;
    const int64_t b = next_to_take_++;
    try {
      batch = make_batch(epoch_, b, order_);
    } catch (...) {
      next_to_take_ = end_;
      throw;
    }
    return true;
  }
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] {
    return next_to_take_ >= end_ || ready_.count(next_to_take_) || (error_ && error_batch_ == next_to_take_) ||
           running_ == 0;
  });
  if (auto it = ready_.find(next_to_take_); it != ready_.end()) {
    batch = std::move(it->second);
    ready_.erase(it);
    ++next_to_take_;
    changed_.notify_all();
    return true;
  }
  if (error_ && error_batch_ == next_to_take_) {
    std::exception_ptr error = error_;
    error_ = nullptr;
    next_to_take_ = end_;   // the epoch ends at the failed batch
    changed_.notify_all();
    std::rethrow_exception(error);
  }
  return false;
}

void DataLoader::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
  std::lock_guard<std::mutex> lock(mutex_);
  ready_.clear();
  next_to_take_ = next_to_build_ = end_ = 0;
  stopping_ = false;
  error_ = nullptr;
}

void DataLoader::work(int64_t epoch, const std::vector<int64_t>* order) {
  const int64_t ahead = options_.prefetch * options_.num_workers;
  for (;;) {
    int64_t b = 0;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] {
        return stopping_ || error_ || next_to_build_ >= end_ || next_to_build_ < next_to_take_ + ahead;
      });
      if (stopping_ || error_ || next_to_build_ >= end_) break;
      b = next_to_build_++;
    }
    try {
      Batch batch = make_batch(epoch, b, *order);
      std::lock_guard<std::mutex> lock(mutex_);
      ready_.emplace(b, std::move(batch));
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      // Of several failures, the first in batch order is the one reported.
      if (!error_ || b < error_batch_) {
        error_ = std::current_exception();
        error_batch_ = b;
      }
    }
    changed_.notify_all();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --running_;
  }
  changed_.notify_all();
}

Batch DataLoader::make_batch(int64_t epoch, int64_t index, const std::vector<int64_t>& order) const {
  const int64_t begin = index * options_.batch_size;
  const int64_t end = std::min(begin + options_.batch_size, static_cast<int64_t>(order.size()));
  if (begin < 0 || begin >= end) throw std::out_of_range("DataLoader: batch " + std::to_string(index) + " outside the epoch");
  const int64_t n = end - begin;

  Batch batch;
  batch.index = index;
  batch.labels = torch::empty({n}, torch::kInt64);
  int64_t* labels = batch.labels.data_ptr<int64_t>();
  std::array<int, 3> shape{};   // of the batch's first sample
  int64_t first_sample = 0;
  float* out = nullptr;
  size_t per_sample = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t sample = order[begin + i];
    image::Rng rng(image::sample_seed(options_.seed, static_cast<uint64_t>(epoch), static_cast<uint64_t>(sample)));
    image::Image img;
    try {
      img = transforms_.transform_image(source_.image(sample), rng);
    } catch (const std::invalid_argument& e) {   // a transform's parameters do not fit this image
      throw std::runtime_error(source_.describe(sample) + ": " + e.what());
    }
    if (i == 0) {
      batch.images = torch::empty({n, img.channels, img.height, img.width}, torch::kFloat32);
      out = batch.images.data_ptr<float>();
      per_sample = static_cast<size_t>(img.channels) * img.height * img.width;
      shape = {img.channels, img.height, img.width};
      first_sample = sample;
    } else if (std::array<int, 3>{img.channels, img.height, img.width} != shape) {
      throw std::runtime_error(source_.describe(sample) + ": transformed to " +
                               shape_text({img.channels, img.height, img.width}) + ", but " +
                               source_.describe(first_sample) + " in the same batch to " + shape_text(shape) +
                               " (a batch needs one size: end the transforms with a Resize/CenterCrop to a fixed size)");
    }
    labels[i] = source_.label(sample);
    transforms_.write_tensor(img, rng, out + i * per_sample);
  }
  if (options_.mixup) {
    MixedBatch mixed = mixup_batch(*options_.mixup, batch.images, batch.labels, options_.seed, epoch, index);
    batch.images = std::move(mixed.images);
    batch.targets = std::move(mixed.targets);
  }
  return batch;
}

}  // namespace sg
