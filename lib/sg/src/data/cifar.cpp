// CIFAR-10 and CIFAR-100 in both of their published forms: the python version (pickled
// NumPy arrays, what torchvision downloads) read through the safe pickle reader, and the
// binary version (fixed-size records).
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "data/dataset_file.hpp"
#include "pth/error.hpp"
#include "pth/input_file.hpp"
#include "pth/numpy_unpickler.hpp"
#include "sg/data/datasets.hpp"

namespace sg {
namespace {

namespace fs = std::filesystem;
using data_detail::fail;

constexpr int64_t kImageBytes = 3 * 32 * 32;

struct CifarLayout {
  const char* name;            // "CIFAR-10"
  int64_t classes;
  const char* python_folder;   // as the archives unpack
  const char* binary_folder;
  std::vector<std::string> python_train, python_test, binary_train, binary_test;
  const char* labels_key;      // in the python version's dicts
  int64_t binary_label_byte;   // which label byte of a binary record (CIFAR-100: coarse, fine)
};

const CifarLayout& layout_of(Cifar which) {
  static const CifarLayout ten{"CIFAR-10",
                               10,
                               "cifar-10-batches-py",
                               "cifar-10-batches-bin",
                               {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"},
                               {"test_batch"},
                               {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                                "data_batch_5.bin"},
                               {"test_batch.bin"},
                               "labels",
                               0};
  static const CifarLayout hundred{"CIFAR-100", 100,         "cifar-100-python", "cifar-100-binary", {"train"},
                                   {"test"},    {"train.bin"}, {"test.bin"},       "fine_labels",      1};
  return which == Cifar::cifar10 ? ten : hundred;
}

// `folder` itself when it holds `first`, else its `archive` subfolder when that does.
std::optional<fs::path> folder_holding(const fs::path& folder, const char* archive, const std::string& first) {
  std::error_code ec;
  if (fs::exists(folder / first, ec)) return folder;
  if (fs::exists(folder / archive / first, ec)) return folder / archive;
  return std::nullopt;
}

void check_label(const std::string& path, int64_t index, int64_t label, const CifarLayout& l) {
  if (label < 0 || label >= l.classes)
    fail(path, "record " + std::to_string(index) + ": label " + std::to_string(label) + " out of range 0.." +
                   std::to_string(l.classes - 1));
}

// One pickled batch: {'data': uint8 array (N, 3072), '<labels_key>': [N ints], ...}.
void read_python_batch(const std::string& path, const CifarLayout& l, ImageDataset& data) {
  pth::Value batch;
  try {
    batch = pth::read_numpy_pickle(path, data_detail::kMaxDatasetFileBytes);
  } catch (const pth::Error& e) {
    fail(path, std::string(e.what()) + " (expected a " + l.name + " python batch)");
  }
  if (!batch.is_dict()) fail(path, std::string("holds a ") + std::string(pth::Value::kind_name(batch.kind())) + ", not a dict");
  const pth::Value* pixels = batch.as_dict().find("data");
  const pth::Value* labels = batch.as_dict().find(l.labels_key);
  if (!pixels || !labels) fail(path, std::string("no 'data' and '") + l.labels_key + "' entries");
  if (!pixels->is_tensor() || pixels->as_tensor()->dtype != pth::DType::UInt8 ||
      pixels->as_tensor()->shape.size() != 2 || pixels->as_tensor()->shape[1] != kImageBytes)
    fail(path, "'data' is not a uint8 array of shape (N, 3072)");
  if (!labels->is_sequence()) fail(path, std::string("'") + l.labels_key + "' is not a list");
  const int64_t n = pixels->as_tensor()->shape[0];
  const pth::List& items = labels->items();
  if (int64_t(items.size()) != n)
    fail(path, std::to_string(n) + " images but " + std::to_string(items.size()) + " labels");
  if (data.pixels.size() + size_t(n * kImageBytes) > data_detail::kMaxDatasetFileBytes)
    fail(path, std::string("the ") + l.name + " data exceed the 2 GiB limit");
  for (int64_t i = 0; i < n; ++i) {
    if (!items[size_t(i)].is_int()) fail(path, "record " + std::to_string(i) + ": the label is not an int");
    check_label(path, i, items[size_t(i)].as_int(), l);
    data.labels.push_back(items[size_t(i)].as_int());
  }
  const pth::ByteView bytes = pixels->as_tensor()->storage->data->bytes();
  data.pixels.insert(data.pixels.end(), bytes.data, bytes.data + bytes.size);
  data.size += n;
}

// One binary batch: records of label byte(s) and 3072 pixels. `expected` says what a missing
// file should have been.
void read_binary_batch(const std::string& path, const CifarLayout& l, const std::string& expected,
                       ImageDataset& data) {
  const int64_t label_bytes = l.binary_label_byte + 1, record = label_bytes + kImageBytes;
  std::string raw;
  try {
    raw = pth::read_input_file(path, data_detail::kMaxDatasetFileBytes);
  } catch (const pth::Error& e) {
    fail(path, std::string(e.what()) + " (expected " + expected + ")");
  }
  if (raw.empty()) fail(path, std::string("empty file (no ") + l.name + " records)");
  if (raw.size() % size_t(record) != 0)
    fail(path, "truncated: size " + std::to_string(raw.size()) + " is not a multiple of the " + std::to_string(record) +
                   "-byte " + l.name + " record; the last record has " + std::to_string(raw.size() % size_t(record)) +
                   " bytes");
  if (data.pixels.size() + raw.size() > data_detail::kMaxDatasetFileBytes)
    fail(path, std::string("the ") + l.name + " data exceed the 2 GiB limit");
  const int64_t records = int64_t(raw.size()) / record;
  const size_t base = data.pixels.size();
  data.pixels.resize(base + size_t(records * kImageBytes));
  for (int64_t r = 0; r < records; ++r) {
    const auto* rec = reinterpret_cast<const uint8_t*>(raw.data()) + r * record;
    check_label(path, r, rec[l.binary_label_byte], l);
    data.labels.push_back(rec[l.binary_label_byte]);
    std::memcpy(data.pixels.data() + base + size_t(r * kImageBytes), rec + label_bytes, size_t(kImageBytes));
  }
  data.size += records;
}

}  // namespace

ImageDataset load_cifar(const std::string& folder, Cifar which, bool train) {
  const CifarLayout& l = layout_of(which);
  ImageDataset data;
  data.channels = 3;
  data.height = 32;
  data.width = 32;
  data.num_classes = l.classes;
  const std::vector<std::string>& python_files = train ? l.python_train : l.python_test;
  if (const auto dir = folder_holding(folder, l.python_folder, python_files.front())) {
    for (const std::string& name : python_files) read_python_batch((*dir / name).string(), l, data);
    return data;
  }
  const std::vector<std::string>& binary_files = train ? l.binary_train : l.binary_test;
  const fs::path dir = folder_holding(folder, l.binary_folder, binary_files.front()).value_or(fs::path(folder));
  const std::string expected = std::string("the ") + l.name + " python version as torchvision downloads it (" +
                               l.python_folder + "/" + python_files.front() + ", ...) or the binary version (" +
                               l.binary_folder + "/" + binary_files.front() + ", ...)";
  for (const std::string& name : binary_files) read_binary_batch((dir / name).string(), l, expected, data);
  return data;
}

}  // namespace sg
