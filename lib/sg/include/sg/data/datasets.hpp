#pragma once
// Image datasets read whole into memory as uint8 pixels (IDX files, CIFAR binary batches,
// the synthetic dataset). No LibTorch here.
#include <cstdint>
#include <string>
#include <vector>

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

}  // namespace sg
