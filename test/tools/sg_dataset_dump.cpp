// sg_dataset_dump: a dataset as lib/sg reads it, for test/python/test_sg_cifar.py.
//
//   sg_dataset_dump cifar10|cifar100 ROOT train|test PIXELS LABELS
//
// writes the uint8 pixels (N x 3 x 32 x 32, CHW) to PIXELS and the labels as little-endian
// int64 to LABELS, and prints "N C H W CLASSES". Exit codes: 0 done; 1 the dataset was
// refused (one line on stderr); 2 usage error.
#include <cstdio>
#include <exception>
#include <fstream>
#include <string>

#include "sg/data/datasets.hpp"

namespace {

void write_raw(const std::string& path, const void* data, std::size_t bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(bytes));
  if (!out) throw std::runtime_error(path + ": cannot write");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6 || (std::string(argv[1]) != "cifar10" && std::string(argv[1]) != "cifar100") ||
      (std::string(argv[3]) != "train" && std::string(argv[3]) != "test")) {
    std::fprintf(stderr, "usage: sg_dataset_dump cifar10|cifar100 ROOT train|test PIXELS LABELS\n");
    return 2;
  }
  try {
    const sg::Cifar which = std::string(argv[1]) == "cifar10" ? sg::Cifar::cifar10 : sg::Cifar::cifar100;
    const sg::ImageDataset d = sg::load_cifar(argv[2], which, std::string(argv[3]) == "train");
    write_raw(argv[4], d.pixels.data(), d.pixels.size());
    write_raw(argv[5], d.labels.data(), d.labels.size() * sizeof(d.labels[0]));
    std::printf("%lld %lld %lld %lld %lld\n", static_cast<long long>(d.size), static_cast<long long>(d.channels),
                static_cast<long long>(d.height), static_cast<long long>(d.width),
                static_cast<long long>(d.num_classes));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sg_dataset_dump: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
