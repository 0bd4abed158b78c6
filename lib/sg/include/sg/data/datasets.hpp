#pragma once
// Image datasets read whole into memory as uint8 pixels (IDX files, CIFAR batches,
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
// CIFAR-10 / CIFAR-100 as torchvision's CIFAR10 / CIFAR100 (SG's Cifar10 / Cifar100) read
// them: the python version (cifar-10-batches-py: data_batch_1..5, test_batch;
// cifar-100-python: train, test) or else the binary version (cifar-10-batches-bin:
// data_batch_1..5.bin, test_batch.bin; cifar-100-binary: train.bin, test.bin), in `folder`
// or in the archive's folder inside it. CIFAR-100's labels are the fine ones (100 classes).
// Throws std::runtime_error naming the file and the problem.
enum class Cifar { cifar10, cifar100 };
ImageDataset load_cifar(const std::string& folder, Cifar which, bool train);
// Learnable random images for tests and benchmarks: class k has a distinct pattern.
ImageDataset make_synthetic(int64_t size, int64_t channels, int64_t height, int64_t width, int64_t num_classes,
                            uint64_t seed);

}  // namespace sg
