// The data loader: batches built on a background thread, each a pure function of
// (seed, epoch, batch index), so that a resumed run sees exactly the batches an
// uninterrupted one would, however often or late they are produced.
//
//   order(seed, epoch)       Fisher-Yates over a splitmix64 stream keyed by (seed, epoch)
//   batch b                  positions [b*batch_size, (b+1)*batch_size) of that order
//   augmentation of pos p    one 64-bit draw keyed by (seed, epoch, p): crop offsets, flip
//
// Pixels go through a per-channel lookup table (v/255 - mean)/std computed in float32
// exactly as torchvision's ToTensor + Normalize do, written straight into the batch tensor.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <string>

#include "data/random.hpp"
#include "sg/data/data.hpp"

namespace sg {
namespace {

void check_dataset(const ImageDataset& data) {
  if (data.size < 0 || data.channels <= 0 || data.height <= 0 || data.width <= 0)
    throw std::invalid_argument("DataLoader: dataset has no valid shape");
  const auto pixels = static_cast<uint64_t>(data.size) * data.channels * data.height * data.width;
  if (data.pixels.size() != pixels || data.labels.size() != static_cast<uint64_t>(data.size))
    throw std::runtime_error("DataLoader: dataset holds " + std::to_string(data.pixels.size()) + " pixels and " +
                             std::to_string(data.labels.size()) + " labels, expected " + std::to_string(pixels) +
                             " and " + std::to_string(data.size));
}

std::vector<float> per_channel(const std::vector<float>& values, int64_t channels, float fallback,
                               const char* name) {
  if (values.empty()) return std::vector<float>(channels, fallback);
  if (values.size() == 1) return std::vector<float>(channels, values[0]);
  if (static_cast<int64_t>(values.size()) != channels)
    throw std::invalid_argument(std::string("DataLoader: normalisation ") + name + " has " +
                                std::to_string(values.size()) + " values for " + std::to_string(channels) +
                                " channels");
  return values;
}

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

}  // namespace

DataLoader::DataLoader(const ImageDataset& data, Augmentation augmentation, LoaderOptions options)
    : data_(data), augmentation_(std::move(augmentation)), options_(options) {
  check_dataset(data_);
  if (options_.batch_size <= 0) throw std::invalid_argument("DataLoader: batch_size must be positive");
  if (options_.prefetch < 1) options_.prefetch = 1;
  if (augmentation_.crop_padding < 0) throw std::invalid_argument("DataLoader: crop_padding must not be negative");
  augmentation_.mean = per_channel(augmentation_.mean, data_.channels, 0.0f, "mean");
  augmentation_.std = per_channel(augmentation_.std, data_.channels, 1.0f, "std");
  for (float s : augmentation_.std)
    if (s == 0.0f || !std::isfinite(s))
      throw std::invalid_argument("DataLoader: normalisation std must be finite and non-zero");
}

DataLoader::~DataLoader() { stop(); }

int64_t DataLoader::batches_per_epoch() const {
  const int64_t bs = options_.batch_size;
  int64_t n = options_.drop_last ? data_.size / bs : (data_.size + bs - 1) / bs;
  if (options_.max_batches >= 0) n = std::min(n, options_.max_batches);
  return n;
}

void DataLoader::start_epoch(int64_t epoch, int64_t first_batch) {
  stop();
  const int64_t n = batches_per_epoch();
  if (first_batch < 0 || first_batch > n)
    throw std::out_of_range("DataLoader::start_epoch: first batch " + std::to_string(first_batch) +
                            " outside 0.." + std::to_string(n));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = false;
    stopping_ = false;
    error_ = nullptr;
  }
  worker_ = std::thread(&DataLoader::produce, this, epoch, first_batch);
}

bool DataLoader::next(Batch& batch) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return !ready_.empty() || finished_; });
  if (!ready_.empty()) {
    batch = std::move(ready_.front());
    ready_.pop_front();
    changed_.notify_all();
    return true;
  }
  if (error_) {
    std::exception_ptr error = error_;
    error_ = nullptr;
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
  if (worker_.joinable()) worker_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  ready_.clear();
  finished_ = true;
  stopping_ = false;
  error_ = nullptr;
}

void DataLoader::produce(int64_t epoch, int64_t first_batch) {
  try {
    const std::vector<int64_t> order = epoch_order(data_.size, options_.shuffle, options_.seed, epoch);
    const int64_t n = batches_per_epoch();
    const auto prefetch = static_cast<size_t>(options_.prefetch);
    for (int64_t b = first_batch; b < n; ++b) {
      {
        std::unique_lock<std::mutex> lock(mutex_);
        changed_.wait(lock, [&] { return stopping_ || ready_.size() < prefetch; });
        if (stopping_) break;
      }
      Batch batch = make_batch(epoch, b, order);
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) break;
      ready_.push_back(std::move(batch));
      changed_.notify_all();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    finished_ = true;
  }
  changed_.notify_all();
}

Batch DataLoader::make_batch(int64_t epoch, int64_t index, const std::vector<int64_t>& order) const {
  check_dataset(data_);  // the loader holds a reference: refuse a dataset changed under it
  const int64_t C = data_.channels, H = data_.height, W = data_.width, HW = H * W, CHW = C * HW;
  const int64_t begin = index * options_.batch_size;
  const int64_t end = std::min(begin + options_.batch_size, data_.size);
  if (begin < 0 || begin >= end || static_cast<int64_t>(order.size()) != data_.size)
    throw std::out_of_range("DataLoader: batch " + std::to_string(index) + " outside the epoch");
  const int64_t n = end - begin;

  // (v/255 - mean)/std for every byte value, in float32 as torchvision computes it.
  std::vector<float> lut(static_cast<size_t>(C * 256));
  for (int64_t c = 0; c < C; ++c)
    for (int v = 0; v < 256; ++v)
      lut[c * 256 + v] = (static_cast<float>(v) / 255.0f - augmentation_.mean[c]) / augmentation_.std[c];

  Batch batch;
  batch.index = index;
  batch.images = torch::empty({n, C, H, W}, torch::kFloat32);
  batch.labels = torch::empty({n}, torch::kInt64);
  float* out = batch.images.data_ptr<float>();
  int64_t* labels = batch.labels.data_ptr<int64_t>();

  const int64_t pad = augmentation_.crop_padding;
  const bool flip_enabled = augmentation_.horizontal_flip;
  const bool augment = pad > 0 || flip_enabled;
  const auto span = static_cast<uint64_t>(2 * pad + 1);

  for (int64_t i = 0; i < n; ++i) {
    const int64_t position = begin + i;
    const int64_t image = order[position];
    labels[i] = data_.labels[image];
    const uint8_t* src = data_.pixels.data() + image * CHW;
    float* dst = out + i * CHW;
    if (!augment) {
      for (int64_t c = 0; c < C; ++c) {
        const float* table = lut.data() + c * 256;
        const uint8_t* s = src + c * HW;
        float* d = dst + c * HW;
        for (int64_t k = 0; k < HW; ++k) d[k] = table[s[k]];
      }
      continue;
    }
    const uint64_t r = data_detail::key(options_.seed, data_detail::kAugmentStream, static_cast<uint64_t>(epoch),
                                        static_cast<uint64_t>(position));
    // Offsets of the crop window in the zero-padded image, shifted so that 0 means "no shift":
    // output (y, x) reads source (y + dy, x + dx), zero outside the image.
    const int64_t dy = static_cast<int64_t>(((r & 0xffffffffull) * span) >> 32) - pad;
    const int64_t dx = static_cast<int64_t>((((r >> 32) & 0x7fffffffull) * span) >> 31) - pad;
    const bool flip = flip_enabled && (r >> 63) != 0;
    // Output columns whose source column lies inside the image.
    const int64_t x_begin = flip ? std::max<int64_t>(0, dx) : std::max<int64_t>(0, -dx);
    const int64_t x_end = flip ? std::min<int64_t>(W, W + dx) : std::min<int64_t>(W, W - dx);
    for (int64_t c = 0; c < C; ++c) {
      const float* table = lut.data() + c * 256;
      const float zero = table[0];
      const uint8_t* s = src + c * HW;
      float* d = dst + c * HW;
      for (int64_t y = 0; y < H; ++y) {
        float* row = d + y * W;
        const int64_t sy = y + dy;
        if (sy < 0 || sy >= H || x_begin >= x_end) {
          std::fill(row, row + W, zero);
          continue;
        }
        const uint8_t* srow = s + sy * W;
        std::fill(row, row + x_begin, zero);
        if (flip) {
          // Flip after the crop: output x shows cropped column W-1-x, i.e. source W-1-x+dx.
          const int64_t last = W - 1 + dx;
          for (int64_t x = x_begin; x < x_end; ++x) row[x] = table[srow[last - x]];
        } else {
          for (int64_t x = x_begin; x < x_end; ++x) row[x] = table[srow[x + dx]];
        }
        std::fill(row + x_end, row + W, zero);
      }
    }
  }
  return batch;
}

}  // namespace sg
