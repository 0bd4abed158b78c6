// Datasets (IDX, CIFAR-10, synthetic) and the deterministic background data loader.
#include <torch/torch.h>  // before Catch: glog (via torch) defines CHECK too, Catch's must win
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "sg/data/data.hpp"
#include "sg/data/transform_list.hpp"
#include "temp_dir.hpp"

namespace {

std::string error_of(const std::function<void()>& f) { return error_message<std::exception>(f); }

// Shuffled batches of `batch_size`, the order drawn from `seed`.
sg::LoaderOptions shuffled_options(int64_t batch_size, uint64_t seed) {
  sg::LoaderOptions o;
  o.batch_size = batch_size;
  o.shuffle = true;
  o.seed = seed;
  return o;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes, bool gzip) {
  if (gzip) {
    gzFile g = gzopen(path.c_str(), "wb");
    REQUIRE(g != nullptr);
    if (!bytes.empty()) REQUIRE(gzwrite(g, bytes.data(), static_cast<unsigned>(bytes.size())) == int(bytes.size()));
    REQUIRE(gzclose(g) == Z_OK);
  } else {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    REQUIRE(out.good());
  }
}

void put_be32(std::vector<uint8_t>& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(v >> shift));
}

std::vector<uint8_t> idx_images(uint32_t count, uint32_t rows, uint32_t cols, const std::vector<uint8_t>& pixels,
                                uint32_t magic = 0x00000803) {
  std::vector<uint8_t> out;
  put_be32(out, magic);
  put_be32(out, count);
  put_be32(out, rows);
  put_be32(out, cols);
  out.insert(out.end(), pixels.begin(), pixels.end());
  return out;
}

std::vector<uint8_t> idx_labels(const std::vector<uint8_t>& labels, uint32_t count_override = ~0u) {
  std::vector<uint8_t> out;
  put_be32(out, 0x00000801);
  put_be32(out, count_override == ~0u ? static_cast<uint32_t>(labels.size()) : count_override);
  out.insert(out.end(), labels.begin(), labels.end());
  return out;
}

// A dataset whose labels are the image indices: every batch says which images it holds.
sg::ImageDataset index_dataset(int64_t size, int64_t channels = 1, int64_t height = 4, int64_t width = 4) {
  sg::ImageDataset d;
  d.size = size;
  d.channels = channels;
  d.height = height;
  d.width = width;
  d.num_classes = size;
  d.pixels.resize(size * channels * height * width);
  for (size_t k = 0; k < d.pixels.size(); ++k) d.pixels[k] = static_cast<uint8_t>((k * 37 + k / 7) & 0xff);
  d.labels.resize(size);
  std::iota(d.labels.begin(), d.labels.end(), int64_t{0});
  return d;
}

// The built-in recipes' transforms block.
struct Aug {
  int crop_padding = 0;
  bool horizontal_flip = false;
  std::vector<float> mean = {0.0f}, std = {1.0f};
};

// A loader over an in-memory copy of `d` with the built-in transforms `a`.
class TestLoader {
 public:
  TestLoader(const sg::ImageDataset& d, const Aug& a, sg::LoaderOptions o)
      : source_(sg::memory_source(d, "test set")),
        loader_(*source_, sg::builtin_transforms(a.crop_padding, a.horizontal_flip, a.mean, a.std), o) {}
  int64_t batches_per_epoch() const { return loader_.batches_per_epoch(); }
  int64_t batches_in_dataset() const { return loader_.batches_in_dataset(); }
  void start_epoch(int64_t epoch, int64_t first = 0) { loader_.start_epoch(epoch, first); }
  bool next(sg::Batch& b) { return loader_.next(b); }

 private:
  std::unique_ptr<sg::SampleSource> source_;
  sg::DataLoader loader_;
};

template <typename Loader>
std::vector<sg::Batch> run_epoch(Loader& loader, int64_t epoch, int64_t first = 0) {
  loader.start_epoch(epoch, first);
  std::vector<sg::Batch> batches;
  sg::Batch b;
  while (loader.next(b)) batches.push_back(b);
  return batches;
}

std::vector<int64_t> labels_of(const std::vector<sg::Batch>& batches) {
  std::vector<int64_t> out;
  for (const auto& b : batches) {
    auto l = b.labels.contiguous();
    out.insert(out.end(), l.data_ptr<int64_t>(), l.data_ptr<int64_t>() + l.numel());
  }
  return out;
}

// The reference: torchvision's ToTensor + Normalize on the raw images, with torch ops.
torch::Tensor reference_images(const sg::ImageDataset& d, const std::vector<int64_t>& indices,
                               const std::vector<float>& mean, const std::vector<float>& std) {
  auto all = torch::from_blob(const_cast<uint8_t*>(d.pixels.data()), {d.size, d.channels, d.height, d.width},
                              torch::kUInt8);
  auto idx = torch::tensor(indices, torch::kInt64);
  auto x = all.index_select(0, idx).to(torch::kFloat32).div(255);
  auto m = torch::tensor(mean).view({1, -1, 1, 1});
  auto s = torch::tensor(std).view({1, -1, 1, 1});
  return x.sub(m).div(s);
}

}  // namespace

TEST_CASE("IDX files, raw and gzipped, read back what was written", "[data][idx]") {
  TempDir dir;
  const uint32_t count = 5, rows = 3, cols = 4;
  std::vector<uint8_t> pixels(count * rows * cols);
  for (size_t k = 0; k < pixels.size(); ++k) pixels[k] = static_cast<uint8_t>(k * 7 + 3);
  const std::vector<uint8_t> labels = {0, 3, 1, 2, 3};
  for (bool gz : {false, true}) {
    const std::string suffix = gz ? ".gz" : "";
    const auto ip = dir.file("images" + suffix), lp = dir.file("labels" + suffix);
    write_bytes(ip, idx_images(count, rows, cols, pixels), gz);
    write_bytes(lp, idx_labels(labels), gz);
    const auto d = sg::load_idx(ip, lp);
    CHECK(d.size == count);
    CHECK(d.channels == 1);
    CHECK(d.height == rows);
    CHECK(d.width == cols);
    CHECK(d.num_classes == 4);
    CHECK(d.pixels == pixels);
    CHECK(d.labels == std::vector<int64_t>(labels.begin(), labels.end()));
  }
}

TEST_CASE("IDX errors name the file and the problem", "[data][idx]") {
  TempDir dir;
  const uint32_t count = 5, rows = 3, cols = 4;
  const std::vector<uint8_t> pixels(count * rows * cols, 9);
  const std::vector<uint8_t> labels = {0, 1, 2, 3, 4};
  const auto good_labels = dir.file("labels");
  write_bytes(good_labels, idx_labels(labels), false);
  const auto good_images = dir.file("images");
  write_bytes(good_images, idx_images(count, rows, cols, pixels), false);

  auto check_one_line = [](const std::string& msg) { CHECK(msg.find('\n') == std::string::npos); };

  SECTION("missing file") {
    const auto missing = dir.file("train-images-idx3-ubyte.gz");
    const auto msg = error_of([&] { sg::load_idx(missing, good_labels); });
    CHECK(msg == missing + ": cannot open: No such file or directory");
    const auto msg2 = error_of([&] { sg::load_idx(good_images, missing); });
    CHECK(msg2 == missing + ": cannot open: No such file or directory");
  }
  SECTION("bad magic") {
    for (bool gz : {false, true}) {
      const auto path = dir.file(gz ? "swapped.gz" : "swapped");
      write_bytes(path, idx_labels(labels), gz);
      const auto msg = error_of([&] { sg::load_idx(path, good_labels); });
      INFO(msg);
      CHECK(msg.rfind(path + ": bad magic 0x00000801 (not an IDX image file", 0) == 0);
      check_one_line(msg);
      const auto msg2 = error_of([&] { sg::load_idx(good_images, good_images); });
      CHECK(msg2.rfind(good_images + ": bad magic 0x00000803 (not an IDX label file", 0) == 0);
    }
  }
  SECTION("truncated pixels, raw and gzipped") {
    for (bool gz : {false, true}) {
      const auto path = dir.file(gz ? "short.gz" : "short");
      auto bytes = idx_images(count, rows, cols, pixels);
      bytes.resize(bytes.size() - 10);
      write_bytes(path, bytes, gz);
      const auto msg = error_of([&] { sg::load_idx(path, good_labels); });
      INFO(msg);
      CHECK(msg.rfind(path + ": truncated: expected 60 pixel bytes, found 50", 0) == 0);
      check_one_line(msg);
    }
  }
  SECTION("gzip stream cut short") {
    const auto gz_path = dir.file("cut.gz");
    write_bytes(gz_path, idx_images(count, rows, cols, pixels), true);
    std::filesystem::resize_file(gz_path, std::filesystem::file_size(gz_path) - 12);  // drop the trailer and more
    const auto msg = error_of([&] { sg::load_idx(gz_path, good_labels); });
    INFO(msg);
    CHECK(msg.rfind(gz_path + ": ", 0) == 0);
    CHECK(msg != "<no error>");
  }
  SECTION("truncated header") {
    const auto path = dir.file("tiny");
    write_bytes(path, {0, 0, 8, 3, 0, 0}, false);
    const auto msg = error_of([&] { sg::load_idx(path, good_labels); });
    CHECK(msg == path + ": truncated: expected a 16-byte IDX image header, found 6 bytes");
  }
  SECTION("trailing data") {
    const auto path = dir.file("long");
    auto bytes = idx_images(count, rows, cols, pixels);
    bytes.push_back(1);
    write_bytes(path, bytes, false);
    const auto msg = error_of([&] { sg::load_idx(path, good_labels); });
    CHECK(msg.rfind(path + ": trailing data", 0) == 0);
  }
  SECTION("image and label counts differ") {
    const auto lp = dir.file("labels4");
    write_bytes(lp, idx_labels({0, 1, 2, 3}), false);
    const auto msg = error_of([&] { sg::load_idx(good_images, lp); });
    CHECK(msg == good_images + " and " + lp + ": image count 5 and label count 4 differ");
    check_one_line(msg);
  }
  SECTION("labels truncated") {
    const auto lp = dir.file("labels-short.gz");
    write_bytes(lp, idx_labels({0, 1, 2}, 5), true);
    const auto msg = error_of([&] { sg::load_idx(good_images, lp); });
    CHECK(msg.rfind(lp + ": truncated: expected 5 label bytes, found 3", 0) == 0);
  }
  SECTION("absurd header is refused before allocating") {
    const auto path = dir.file("huge");
    write_bytes(path, idx_images(0xffffffffu, 60000, 60000, {1, 2, 3}), false);
    const auto msg = error_of([&] { sg::load_idx(path, good_labels); });
    CHECK(msg.rfind(path + ": absurd header", 0) == 0);
    // Within the limit but far more than the file holds: the buffer follows the data.
    const auto path2 = dir.file("big");
    write_bytes(path2, idx_images(1000000, 28, 28, {1, 2, 3}), false);
    const auto msg2 = error_of([&] { sg::load_idx(path2, good_labels); });
    CHECK(msg2 == path2 + ": truncated: expected 784000000 pixel bytes, found 3");
  }
  SECTION("zero dimensions") {
    const auto path = dir.file("zero");
    write_bytes(path, idx_images(5, 0, 4, {}), false);
    CHECK(error_of([&] { sg::load_idx(path, good_labels); }) == path + ": bad image size 0x4");
  }
}

TEST_CASE("the real Fashion-MNIST files load", "[data][idx][fashion]") {
  const std::string root = "/usr/share/datasets/fashion-mnist/";
  if (!std::filesystem::exists(root + "train-images-idx3-ubyte.gz")) {
    WARN("Fashion-MNIST not installed under " << root << " (Debian package dataset-fashion-mnist); skipped");
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto train = sg::load_idx(root + "train-images-idx3-ubyte.gz", root + "train-labels-idx1-ubyte.gz");
  const auto t1 = std::chrono::steady_clock::now();
  const auto test = sg::load_idx(root + "t10k-images-idx3-ubyte.gz", root + "t10k-labels-idx1-ubyte.gz");
  const double ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  WARN("loading the Fashion-MNIST training set took " << ms << " ms");
  CHECK(train.size == 60000);
  CHECK(test.size == 10000);
  for (const auto* d : {&train, &test}) {
    CHECK(d->channels == 1);
    CHECK(d->height == 28);
    CHECK(d->width == 28);
    CHECK(d->num_classes == 10);
  }
  std::map<int64_t, int> per_class;
  for (auto l : train.labels) per_class[l]++;
  CHECK(per_class.size() == 10);
  for (const auto& [label, n] : per_class) CHECK(n == 6000);
}

TEST_CASE("CIFAR-10 binary batches", "[data][cifar]") {
  TempDir dir;
  std::vector<uint8_t> bytes;
  for (int r = 0; r < 2; ++r) {
    bytes.push_back(static_cast<uint8_t>(r == 0 ? 7 : 2));
    for (int k = 0; k < 3072; ++k) bytes.push_back(static_cast<uint8_t>((k + r * 11) & 0xff));
  }
  write_bytes(dir.file("test_batch.bin"), bytes, false);
  const auto d = sg::load_cifar(dir.path().string(), sg::Cifar::cifar10, false);
  CHECK(d.size == 2);
  CHECK(d.channels == 3);
  CHECK(d.height == 32);
  CHECK(d.width == 32);
  CHECK(d.num_classes == 10);
  CHECK(d.labels == std::vector<int64_t>{7, 2});
  REQUIRE(d.pixels.size() == 2 * 3072);
  CHECK(std::equal(d.pixels.begin(), d.pixels.begin() + 3072, bytes.begin() + 1));
  CHECK(std::equal(d.pixels.begin() + 3072, d.pixels.end(), bytes.begin() + 3074));

  SECTION("train split: five files") {
    for (int i = 1; i <= 5; ++i) write_bytes(dir.file("data_batch_" + std::to_string(i) + ".bin"), bytes, false);
    const auto t = sg::load_cifar(dir.path().string(), sg::Cifar::cifar10, true);
    CHECK(t.size == 10);
    CHECK(t.labels[8] == 7);
    CHECK(t.labels[9] == 2);
  }
  SECTION("missing file") {
    const auto msg = error_of([&] { sg::load_cifar(dir.path().string(), sg::Cifar::cifar10, true); });
    CHECK(msg.rfind(dir.file("data_batch_1.bin") + ": cannot open: No such file or directory", 0) == 0);
  }
  SECTION("truncated record") {
    auto cut = bytes;
    cut.resize(cut.size() - 100);
    write_bytes(dir.file("test_batch.bin"), cut, false);
    const auto msg = error_of([&] { sg::load_cifar(dir.path().string(), sg::Cifar::cifar10, false); });
    INFO(msg);
    CHECK(msg.rfind(dir.file("test_batch.bin") + ": truncated: size 6046 is not a multiple of the 3073-byte", 0) ==
          0);
  }
  SECTION("label out of range") {
    auto bad = bytes;
    bad[3073] = 12;
    write_bytes(dir.file("test_batch.bin"), bad, false);
    const auto msg = error_of([&] { sg::load_cifar(dir.path().string(), sg::Cifar::cifar10, false); });
    CHECK(msg == dir.file("test_batch.bin") + ": record 1: label 12 out of range 0..9");
  }
}

TEST_CASE("synthetic data is deterministic per seed", "[data][synthetic]") {
  const auto a = sg::make_synthetic(200, 3, 8, 8, 5, 42);
  const auto b = sg::make_synthetic(200, 3, 8, 8, 5, 42);
  const auto c = sg::make_synthetic(200, 3, 8, 8, 5, 43);
  CHECK(a.pixels == b.pixels);
  CHECK(a.labels == b.labels);
  CHECK(a.pixels != c.pixels);
  CHECK(a.size == 200);
  CHECK(a.num_classes == 5);
  CHECK(a.pixels.size() == 200 * 3 * 8 * 8);
  std::set<int64_t> classes(a.labels.begin(), a.labels.end());
  CHECK(classes == std::set<int64_t>{0, 1, 2, 3, 4});
  // Learnable: the nearest class mean (computed on the first half) classifies the second half.
  const int64_t per = 3 * 8 * 8;
  std::vector<std::vector<double>> mean(5, std::vector<double>(per, 0.0));
  std::vector<int> n(5, 0);
  for (int64_t i = 0; i < 100; ++i) {
    n[a.labels[i]]++;
    for (int64_t k = 0; k < per; ++k) mean[a.labels[i]][k] += a.pixels[i * per + k];
  }
  for (int k = 0; k < 5; ++k)
    for (auto& v : mean[k]) v /= std::max(n[k], 1);
  int correct = 0;
  for (int64_t i = 100; i < 200; ++i) {
    int best = 0;
    double best_d = 1e300;
    for (int k = 0; k < 5; ++k) {
      double dist = 0;
      for (int64_t p = 0; p < per; ++p) dist += std::pow(a.pixels[i * per + p] - mean[k][p], 2);
      if (dist < best_d) best_d = dist, best = k;
    }
    correct += best == a.labels[i];
  }
  CHECK(correct >= 95);
}

TEST_CASE("loader batches: shapes, dtypes, counts", "[data][loader]") {
  const auto d = index_dataset(10, 3, 5, 6);
  sg::LoaderOptions o;
  o.batch_size = 4;
  SECTION("last partial batch kept") {
    TestLoader loader(d, {}, o);
    CHECK(loader.batches_per_epoch() == 3);
    const auto batches = run_epoch(loader, 0);
    REQUIRE(batches.size() == 3);
    for (size_t b = 0; b < 3; ++b) {
      const int64_t n = b < 2 ? 4 : 2;
      CHECK(batches[b].index == int64_t(b));
      CHECK(batches[b].images.sizes() == torch::IntArrayRef{n, 3, 5, 6});
      CHECK(batches[b].images.scalar_type() == torch::kFloat32);
      CHECK(batches[b].images.is_contiguous());
      CHECK(batches[b].labels.sizes() == torch::IntArrayRef{n});
      CHECK(batches[b].labels.scalar_type() == torch::kInt64);
    }
    std::vector<int64_t> expected(10);
    std::iota(expected.begin(), expected.end(), 0);
    CHECK(labels_of(batches) == expected);  // no shuffle: dataset order
    sg::Batch extra;
    CHECK_FALSE(loader.next(extra));  // stays at its end
  }
  SECTION("drop_last") {
    o.drop_last = true;
    TestLoader loader(d, {}, o);
    CHECK(loader.batches_per_epoch() == 2);
    CHECK(run_epoch(loader, 0).size() == 2);
  }
  SECTION("max_batches") {
    o.max_batches = 1;
    TestLoader loader(d, {}, o);
    CHECK(loader.batches_per_epoch() == 1);
    CHECK(run_epoch(loader, 0).size() == 1);
    o.max_batches = 0;
    TestLoader none(d, {}, o);
    CHECK(none.batches_per_epoch() == 0);
    CHECK(run_epoch(none, 0).empty());
    o.max_batches = 100;
    TestLoader many(d, {}, o);
    CHECK(many.batches_per_epoch() == 3);
  }
  SECTION("next before any epoch") {
    TestLoader loader(d, {}, o);
    sg::Batch b;
    CHECK_FALSE(loader.next(b));
  }
  SECTION("first batch out of range") {
    TestLoader loader(d, {}, o);
    CHECK_THROWS_AS(loader.start_epoch(0, 4), std::out_of_range);
    CHECK(run_epoch(loader, 0, 3).empty());  // starting at the end: an empty epoch
  }
  SECTION("bad options") {
    o.batch_size = 0;
    CHECK_THROWS_AS(TestLoader(d, {}, o), std::invalid_argument);
    o.batch_size = 4;
    o.num_workers = -1;
    CHECK_THROWS_AS(TestLoader(d, {}, o), std::invalid_argument);
    o.num_workers = 2;
    o.prefetch = 0;
    CHECK_THROWS_AS(TestLoader(d, {}, o), std::invalid_argument);
    o.prefetch = 2;
    Aug a;
    a.mean = {0.1f, 0.2f};   // two values for three channels: refused when the first batch is made
    TestLoader loader(d, a, o);
    loader.start_epoch(0);
    sg::Batch b;
    CHECK_THAT(error_of([&] { loader.next(b); }), Catch::Contains("2 values for 3 channels"));
  }
}

TEST_CASE("loader shuffling is a pure function of seed and epoch", "[data][loader]") {
  const auto d = index_dataset(103);
  sg::LoaderOptions o = shuffled_options(8, 7);
  Aug a;
  a.crop_padding = 2;
  a.horizontal_flip = true;
  TestLoader loader(d, a, o);
  TestLoader twin(d, a, o);

  std::vector<int64_t> all(103);
  std::iota(all.begin(), all.end(), 0);
  const auto e3 = run_epoch(loader, 3);
  auto seen = labels_of(e3);
  CHECK(seen != all);  // shuffled
  std::sort(seen.begin(), seen.end());
  CHECK(seen == all);  // every image exactly once

  const auto e3_again = run_epoch(twin, 3);
  REQUIRE(e3_again.size() == e3.size());
  for (size_t b = 0; b < e3.size(); ++b) {
    CHECK(torch::equal(e3[b].images, e3_again[b].images));
    CHECK(torch::equal(e3[b].labels, e3_again[b].labels));
  }
  const auto e4 = run_epoch(loader, 4);
  CHECK(labels_of(e4) != labels_of(e3));
  auto seen4 = labels_of(e4);
  std::sort(seen4.begin(), seen4.end());
  CHECK(seen4 == all);

  o.seed = 8;
  TestLoader other_seed(d, a, o);
  CHECK(labels_of(run_epoch(other_seed, 3)) != labels_of(e3));

  // The same loader, re-run: the same epoch again, bit for bit.
  const auto e3_rerun = run_epoch(loader, 3);
  for (size_t b = 0; b < e3.size(); ++b) CHECK(torch::equal(e3[b].images, e3_rerun[b].images));
}

TEST_CASE("a shard is every count-th position of the same order, as DistributedSampler takes it", "[data][loader][shard]") {
  const auto d = index_dataset(103);
  Aug a;
  a.crop_padding = 2;
  a.horizontal_flip = true;
  sg::LoaderOptions o = shuffled_options(8, 7);
  TestLoader whole(d, a, o);
  const auto reference = run_epoch(whole, 2);
  const auto order = labels_of(reference);   // the labels are the dataset indices
  std::map<int64_t, torch::Tensor> image_of;
  for (const auto& b : reference)
    for (int64_t i = 0; i < b.labels.size(0); ++i) image_of[b.labels[i].item<int64_t>()] = b.images[i];

  for (bool pad : {true, false}) {
    std::vector<int64_t> all;
    for (int64_t rank = 0; rank < 3; ++rank) {
      o.shard = {rank, 3, pad};
      TestLoader loader(d, a, o);
      const auto batches = run_epoch(loader, 2);
      const auto mine = labels_of(batches);
      std::vector<int64_t> expected;
      for (int64_t k = 0; pad ? k < 35 : rank + 3 * k < 103; ++k) expected.push_back(order[size_t((rank + 3 * k) % 103)]);
      CHECK(mine == expected);
      CHECK(loader.batches_in_dataset() == (int64_t(expected.size()) + 7) / 8);
      for (const auto& b : batches)   // a sample looks the same whichever process draws it
        for (int64_t i = 0; i < b.labels.size(0); ++i) CHECK(torch::equal(b.images[i], image_of.at(b.labels[i].item<int64_t>())));
      all.insert(all.end(), mine.begin(), mine.end());
    }
    CHECK(all.size() == (pad ? 105u : 103u));   // padded with the order's first two positions
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    CHECK(all.size() == 103u);
  }

  // Two processes with batch B see, batch for batch, what one process sees with batch 2B.
  o.shard = {};
  o.batch_size = 16;
  TestLoader one(d, a, o);
  const auto big = run_epoch(one, 2);
  o.batch_size = 8;
  o.shard = {0, 2, true};
  TestLoader first(d, a, o);
  o.shard = {1, 2, true};
  TestLoader second(d, a, o);
  const auto r0 = run_epoch(first, 2), r1 = run_epoch(second, 2);
  REQUIRE(r0.size() == big.size());
  for (size_t b = 0; b + 1 < big.size(); ++b) {
    auto pair = labels_of({r0[b], r1[b]}), single = labels_of({big[b]});
    std::sort(pair.begin(), pair.end());
    std::sort(single.begin(), single.end());
    CHECK(pair == single);
  }

  o.shard = {2, 2, true};
  CHECK_THROWS_AS(TestLoader(d, a, o), std::invalid_argument);
  o.shard = {0, 0, true};
  CHECK_THROWS_AS(TestLoader(d, a, o), std::invalid_argument);
}

TEST_CASE("start_epoch(e, k) yields exactly batches k.. of epoch e", "[data][loader][resume]") {
  const auto d = sg::make_synthetic(300, 3, 12, 12, 4, 5);
  sg::LoaderOptions o = shuffled_options(16, 1234);
  o.prefetch = 2;
  Aug a;
  a.crop_padding = 3;
  a.horizontal_flip = true;
  a.mean = {0.5f, 0.4f, 0.3f};
  a.std = {0.2f, 0.25f, 0.3f};
  TestLoader full(d, a, o);
  const auto reference = run_epoch(full, 2);
  REQUIRE(reference.size() == 19);

  for (int64_t k : {0, 1, 7, 18, 19}) {
    TestLoader resumed(d, a, o);
    const auto rest = run_epoch(resumed, 2, k);
    REQUIRE(int64_t(rest.size()) == 19 - k);
    for (size_t i = 0; i < rest.size(); ++i) {
      CHECK(rest[i].index == k + int64_t(i));
      CHECK(torch::equal(rest[i].images, reference[k + i].images));
      CHECK(torch::equal(rest[i].labels, reference[k + i].labels));
    }
  }

  // Abandoning an epoch midway (the worker blocked on a full queue) and restarting is clean.
  TestLoader loader(d, a, o);
  loader.start_epoch(5);
  sg::Batch b;
  REQUIRE(loader.next(b));
  loader.start_epoch(2, 10);
  std::vector<sg::Batch> got;
  while (loader.next(b)) got.push_back(b);
  REQUIRE(got.size() == 9);
  for (size_t i = 0; i < got.size(); ++i) CHECK(torch::equal(got[i].images, reference[10 + i].images));
  loader.start_epoch(3);  // destroyed while producing: the destructor stops and joins
}

TEST_CASE("normalisation is exact and augmentation only when enabled", "[data][loader][augment]") {
  auto d = sg::make_synthetic(64, 3, 10, 9, 3, 99);
  const std::vector<float> mean = {0.5f, 0.4f, 0.3f}, stdev = {0.2f, 0.25f, 0.3f};
  d.pixels[1 * 90 + 2 * 9 + 5] = 200;  // image 0, channel 1, (2, 5)
  sg::LoaderOptions o = shuffled_options(64, 3);
  Aug a;
  a.mean = mean;
  a.std = stdev;

  auto order_of = [](const sg::Batch& b) {
    return std::vector<int64_t>(b.labels.data_ptr<int64_t>(), b.labels.data_ptr<int64_t>() + b.labels.numel());
  };
  // Use an index-labelled copy of the data so that the order is known.
  auto di = d;
  di.num_classes = d.size;
  std::iota(di.labels.begin(), di.labels.end(), int64_t{0});

  SECTION("no augmentation: equal to ToTensor + Normalize") {
    o.shuffle = false;
    TestLoader loader(di, a, o);
    const auto batches = run_epoch(loader, 0);
    REQUIRE(batches.size() == 1);
    const float expected = (200.0f / 255.0f - 0.4f) / 0.25f;
    CHECK(batches[0].images[0][1][2][5].item<float>() == expected);
    CHECK(torch::equal(batches[0].images, reference_images(di, order_of(batches[0]), mean, stdev)));
    // Defaults: no normalisation, plain pixels/255.
    TestLoader plain(di, {}, o);
    const auto p = run_epoch(plain, 0);
    CHECK(p[0].images[0][1][2][5].item<float>() == 200.0f / 255.0f);
    CHECK(torch::equal(p[0].images, reference_images(di, order_of(p[0]), {0, 0, 0}, {1, 1, 1})));
    // Shuffled but not augmented: still the plain images, in the shuffled order.
    o.shuffle = true;
    TestLoader shuffled(di, a, o);
    const auto s = run_epoch(shuffled, 1);
    CHECK(torch::equal(s[0].images, reference_images(di, order_of(s[0]), mean, stdev)));
  }
  SECTION("flip only: each image is itself or its mirror, both occur") {
    a.horizontal_flip = true;
    TestLoader loader(di, a, o);
    const auto b = run_epoch(loader, 0)[0];
    const auto ref = reference_images(di, order_of(b), mean, stdev);
    int flipped = 0, kept = 0;
    for (int64_t i = 0; i < 64; ++i) {
      const bool same = torch::equal(b.images[i], ref[i]);
      const bool mirror = torch::equal(b.images[i], ref[i].flip({2}));
      CHECK((same || mirror));
      flipped += mirror && !same;
      kept += same;
    }
    CHECK(flipped > 10);
    CHECK(kept > 10);
    TestLoader twin(di, a, o);
    CHECK(torch::equal(run_epoch(twin, 0)[0].images, b.images));
  }
  SECTION("crop (and flip): a shifted window of the zero-padded image") {
    const int64_t pad = 2;
    a.crop_padding = pad;
    for (bool flip : {false, true}) {
      a.horizontal_flip = flip;
      TestLoader loader(di, a, o);
      const auto b = run_epoch(loader, 4)[0];
      // Pad in pixel space (zeros), crop, flip, then normalise: torchvision's RandomCrop order.
      auto all = torch::from_blob(di.pixels.data(), {64, 3, 10, 9}, torch::kUInt8).to(torch::kFloat32);
      auto padded = torch::constant_pad_nd(all, {pad, pad, pad, pad}, 0);
      auto m = torch::tensor(mean).view({-1, 1, 1});
      auto s = torch::tensor(stdev).view({-1, 1, 1});
      std::set<std::pair<int64_t, int64_t>> offsets;
      int mirrored = 0;
      for (int64_t i = 0; i < 64; ++i) {
        const int64_t image = b.labels[i].item<int64_t>();
        bool found = false;
        for (int64_t oy = 0; oy <= 2 * pad && !found; ++oy)
          for (int64_t ox = 0; ox <= 2 * pad && !found; ++ox)
            for (bool f : {false, true}) {
              if (f && !flip) continue;
              auto crop = padded[image].slice(1, oy, oy + 10).slice(2, ox, ox + 9);
              if (f) crop = crop.flip({2});
              if (torch::equal(b.images[i], crop.div(255).sub(m).div(s))) {
                found = true;
                offsets.insert({oy, ox});
                mirrored += f;
                break;
              }
            }
        CHECK(found);
      }
      CHECK(offsets.size() > 10);  // 25 possible windows, 64 images
      if (flip) CHECK(mirrored > 10);
      TestLoader twin(di, a, o);
      CHECK(torch::equal(run_epoch(twin, 4)[0].images, b.images));
      CHECK_FALSE(torch::equal(run_epoch(twin, 5)[0].images, b.images));
    }
  }
}

// A source whose sample `bad` fails the first time it is read (as a file that cannot be read).
class FailingOnce : public sg::SampleSource {
 public:
  FailingOnce(const sg::ImageDataset& d, int64_t bad) : inner_(sg::memory_source(d, "test set")), bad_(bad) {}
  int64_t size() const override { return inner_->size(); }
  int64_t num_classes() const override { return inner_->num_classes(); }
  int64_t channels() const override { return inner_->channels(); }
  int64_t label(int64_t i) const override { return inner_->label(i); }
  std::string describe(int64_t i) const override { return inner_->describe(i); }
  sg::image::Image image(int64_t i) const override {
    if (i == bad_ && !failed_.exchange(true)) throw std::runtime_error(describe(i) + ": cannot read");
    return inner_->image(i);
  }

 private:
  std::unique_ptr<sg::SampleSource> inner_;
  int64_t bad_;
  mutable std::atomic<bool> failed_{false};
};

TEST_CASE("a worker's error reaches next() in place of its batch, once", "[data][loader]") {
  const auto d = index_dataset(20);
  for (int64_t workers : {0, 1, 3}) {
    FailingOnce source(d, 13);
    sg::LoaderOptions o;
    o.batch_size = 4;
    o.num_workers = workers;
    sg::DataLoader loader(source, {}, o);
    loader.start_epoch(0);
    sg::Batch b;
    for (int64_t k = 0; k < 3; ++k) {   // the batches before the failing one arrive
      REQUIRE(loader.next(b));
      CHECK(b.index == k);
    }
    CHECK_THAT(error_of([&] { loader.next(b); }), Catch::Equals("test set sample 13: cannot read"));
    CHECK_FALSE(loader.next(b));   // reported once; the epoch has ended
    CHECK(run_epoch(loader, 0).size() == 5);   // and the next epoch runs whole
  }
}

TEST_CASE("batches are the same whatever the number of workers", "[data][loader][workers]") {
  const auto d = sg::make_synthetic(203, 3, 12, 12, 4, 5);
  Aug a;
  a.crop_padding = 3;
  a.horizontal_flip = true;
  sg::LoaderOptions o = shuffled_options(16, 99);
  TestLoader one(d, a, o);
  const auto reference = run_epoch(one, 1);
  REQUIRE(reference.size() == 13);
  for (int64_t workers : {0, 2, 4}) {
    o.num_workers = workers;
    TestLoader loader(d, a, o);
    const auto got = run_epoch(loader, 1);
    REQUIRE(got.size() == reference.size());
    for (size_t i = 0; i < got.size(); ++i) {
      CHECK(torch::equal(got[i].images, reference[i].images));
      CHECK(torch::equal(got[i].labels, reference[i].labels));
    }
  }
}

TEST_CASE("a sample's augmentation depends on its index, not on its batch", "[data][loader][workers]") {
  const auto d = index_dataset(60, 3, 8, 8);
  Aug a;
  a.crop_padding = 2;
  a.horizontal_flip = true;
  auto by_sample = [&](int64_t batch_size, bool shuffle) {
    sg::LoaderOptions o = shuffled_options(batch_size, 5);
    o.shuffle = shuffle;
    TestLoader loader(d, a, o);
    std::map<int64_t, torch::Tensor> out;
    for (const auto& b : run_epoch(loader, 2))
      for (int64_t i = 0; i < b.labels.size(0); ++i) out[b.labels[i].item<int64_t>()] = b.images[i];
    return out;
  };
  const auto reference = by_sample(7, true);
  REQUIRE(reference.size() == 60);
  for (const auto& other : {by_sample(16, true), by_sample(5, false)})
    for (const auto& [sample, image] : reference) CHECK(torch::equal(other.at(sample), image));
}

TEST_CASE("loader throughput on Fashion-MNIST-sized data", "[data][loader][benchmark]") {
  const auto d = sg::make_synthetic(60000, 1, 28, 28, 10, 1);
  sg::LoaderOptions o = shuffled_options(128, 1);
  for (int aug = 0; aug < 2; ++aug) {
    Aug a;
    a.mean = {0.2860f};
    a.std = {0.3530f};
    if (aug) {
      a.crop_padding = 4;
      a.horizontal_flip = true;
    }
    TestLoader loader(d, a, o);
    const auto t0 = std::chrono::steady_clock::now();
    loader.start_epoch(0);
    sg::Batch b;
    int64_t batches = 0, images = 0;
    while (loader.next(b)) ++batches, images += b.images.size(0);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    CHECK(batches == 469);
    CHECK(images == 60000);
    WARN("loader, batch 128, " << (aug ? "crop 4 + flip" : "no augmentation") << ": " << batches / s
                               << " batches/s, " << 1e6 * s / images << " us/image");
  }
}
