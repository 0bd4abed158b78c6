// The random transforms of lib/image: every draw within torchvision's documented ranges,
// every reachable outcome reached, and a sample's output a pure function of its seed
// (bit for bit, whichever thread runs it and whatever ran before).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <set>
#include <thread>

#include "image/color.hpp"
#include "image/transforms.hpp"

using namespace sg::image;

namespace {

Image gradient(int h, int w) {
  Image img(h, w, 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) img.row(y)[x * 3 + c] = static_cast<std::uint8_t>((x * 7 + y * 3 + c * 50) & 0xFF);
  return img;
}

Pipeline imagenet_training() {
  Pipeline p;
  p.image_steps = {std::make_shared<RandomResizedCrop>(224, 224, std::array<double, 2>{0.08, 1.0},
                                                       std::array<double, 2>{3.0 / 4, 4.0 / 3},
                                                       std::vector{Interpolation::bilinear, Interpolation::bicubic}),
                   std::make_shared<RandomHorizontalFlip>(0.5),
                   std::make_shared<ColorJitter>(ColorJitter::factor_range(0.4), ColorJitter::factor_range(0.4),
                                                 ColorJitter::factor_range(0.4), ColorJitter::hue_range(0.1))};
  p.mean = {0.485f, 0.456f, 0.406f};
  p.std = {0.229f, 0.224f, 0.225f};
  RandomErasing erase;
  erase.p = 0.5;
  p.tensor_steps = {erase};
  return p;
}

}  // namespace

TEST_CASE("sample seeds differ by seed, epoch and index, and the generator's draws are in range") {
  std::set<std::uint64_t> seeds;
  for (std::uint64_t s = 0; s < 4; ++s)
    for (std::uint64_t e = 0; e < 4; ++e)
      for (std::uint64_t i = 0; i < 64; ++i) seeds.insert(sample_seed(s, e, i));
  CHECK(seeds.size() == 4 * 4 * 64);
  Rng rng(42);
  std::set<std::int64_t> values;
  double sum = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto v = rng.randint(3, 10);
    REQUIRE(v >= 3);
    REQUIRE(v < 10);
    values.insert(v);
    const double u = rng.uniform(-2.0, 5.0);
    REQUIRE(u >= -2.0);
    REQUIRE(u < 5.0);
    sum += rng.normal();
  }
  CHECK(values.size() == 7);
  CHECK(std::fabs(sum / 20000) < 0.05);
}

TEST_CASE("RandomResizedCrop draws crops of torchvision's scale and ratio, else the central crop") {
  const RandomResizedCrop rrc(224, 224);
  Rng rng(1);
  const int H = 375, W = 500;
  for (int i = 0; i < 5000; ++i) {
    const auto c = rrc.draw(H, W, rng);
    REQUIRE(c.top >= 0);
    REQUIRE(c.left >= 0);
    REQUIRE(c.top + c.height <= H);
    REQUIRE(c.left + c.width <= W);
    // w and h are rounded from sqrt(area * ratio), sqrt(area / ratio): allow that rounding.
    const double area = static_cast<double>(c.height) * c.width / (H * W);
    CHECK(area >= 0.08 * 0.97);
    CHECK(area <= 1.0);
    const double ratio = static_cast<double>(c.width) / c.height;
    if (c.height != H || c.width != W) {
      CHECK(ratio >= 0.75 * (1 - 2.0 / c.height));
      CHECK(ratio <= 4.0 / 3 * (1 + 2.0 / c.height));
    }
  }
  // A 1000x10 image: no try fits, so torchvision's fallback (full width, height by max ratio).
  const auto c = rrc.draw(1000, 10, rng);
  CHECK(c.width == 10);
  CHECK(c.height == static_cast<int>(std::nearbyint(10 / 0.75)));
  CHECK(c.top == (1000 - c.height) / 2);
  CHECK(c.left == 0);
  CHECK(rrc.apply(gradient(1000, 10), rng).height == 224);
}

TEST_CASE("RandomCrop reaches every offset of the padded image and pads as torchvision") {
  RandomCrop::Options o;
  o.padding = {4, 4, 4, 4};
  o.fill = {9, 9, 9};
  const RandomCrop crop(32, 32, o);
  const Image img = gradient(32, 32);
  std::set<std::pair<int, int>> offsets;
  Rng rng(7);
  for (int i = 0; i < 4000; ++i) {
    const Image out = crop.apply(img, rng);
    REQUIRE(out.height == 32);
    REQUIRE(out.width == 32);
    // Locate the crop: the padded image's pixel (4, 4) is img's (0, 0).
    int top = -1, left = -1;
    for (int dy = 0; dy <= 8 && top < 0; ++dy)
      for (int dx = 0; dx <= 8; ++dx) {
        const Image expect = sg::image::crop(pad(img, 4, 4, 4, 4, PadMode::constant, o.fill), dy, dx, 32, 32);
        if (expect.pixels == out.pixels) {
          top = dy;
          left = dx;
          break;
        }
      }
    REQUIRE(top >= 0);
    offsets.insert({top, left});
    if (offsets.size() == 81) break;
  }
  CHECK(offsets.size() == 81);

  RandomCrop::Options needed;
  needed.pad_if_needed = true;
  const Image small = RandomCrop(10, 12, needed).apply(gradient(6, 5), rng);
  CHECK(small.height == 10);
  CHECK(small.width == 12);
  CHECK_THROWS_WITH(RandomCrop(10, 12, {}).apply(gradient(6, 5), rng),
                    "RandomCrop: crop 10x12 larger than the (padded) image 6x5");
}

TEST_CASE("RandomHorizontalFlip flips with probability p, and p = 0 / 1 never / always") {
  const Image img = gradient(4, 9);
  const Image flipped = hflip(img);
  Rng rng(3);
  int flips = 0;
  for (int i = 0; i < 4000; ++i) flips += RandomHorizontalFlip(0.5).apply(img, rng).pixels == flipped.pixels;
  CHECK(flips > 1800);
  CHECK(flips < 2200);
  CHECK(RandomHorizontalFlip(0.0).apply(img, rng).pixels == img.pixels);
  CHECK(RandomHorizontalFlip(1.0).apply(img, rng).pixels == flipped.pixels);
  CHECK_THROWS_WITH(RandomHorizontalFlip(1.5), "RandomHorizontalFlip: p must be in [0, 1]");
}

TEST_CASE("ColorJitter with one-point ranges is the fixed adjustment; its ranges follow torchvision") {
  const Image img = gradient(16, 16);
  Rng rng(5);
  const auto one = [](double f) { return ColorJitter::Range(std::array<double, 2>{f, f}); };
  CHECK(ColorJitter(one(1.3), {}, {}, {}).apply(img, rng).pixels == adjust_brightness(img, 1.3).pixels);
  CHECK(ColorJitter({}, one(0.6), {}, {}).apply(img, rng).pixels == adjust_contrast(img, 0.6).pixels);
  CHECK(ColorJitter({}, {}, one(1.8), {}).apply(img, rng).pixels == adjust_saturation(img, 1.8).pixels);
  CHECK(ColorJitter({}, {}, {}, one(-0.2)).apply(img, rng).pixels == adjust_hue(img, -0.2).pixels);
  CHECK(*ColorJitter::factor_range(0.4) == std::array<double, 2>{0.6, 1.4});
  CHECK(*ColorJitter::factor_range(1.5) == std::array<double, 2>{0.0, 2.5});
  CHECK(!ColorJitter::factor_range(0));
  CHECK(*ColorJitter::hue_range(0.1) == std::array<double, 2>{-0.1, 0.1});
  CHECK_THROWS_WITH(ColorJitter::hue_range(0.7), "ColorJitter: hue must be in [0, 0.5]");
  // Both orders of two adjustments occur.
  const ColorJitter two(one(1.5), one(0.5), {}, {});
  const auto bc = adjust_contrast(adjust_brightness(img, 1.5), 0.5).pixels;
  const auto cb = adjust_brightness(adjust_contrast(img, 0.5), 1.5).pixels;
  REQUIRE(bc != cb);
  std::set<int> seen;
  for (int i = 0; i < 200; ++i) {
    const auto out = two.apply(img, rng).pixels;
    REQUIRE((out == bc || out == cb));
    seen.insert(out == bc);
  }
  CHECK(seen.size() == 2);
}

TEST_CASE("RandomErasing erases a rectangle of torchvision's scale and ratio with probability p") {
  RandomErasing e;
  e.p = 1.0;
  e.value = std::vector<float>{7.0f};
  Rng rng(11);
  const int C = 3, H = 64, W = 48;
  int erased_count = 0;
  for (int i = 0; i < 500; ++i) {
    std::vector<float> chw(C * H * W, 0.0f);
    e.apply(chw.data(), C, H, W, rng);
    int n = 0;
    for (float v : chw) n += v == 7.0f;
    if (n == 0) continue;   // ten tries without a fit: nothing erased, as torchvision
    ++erased_count;
    CHECK(n % C == 0);
    const double area = static_cast<double>(n / C) / (H * W);
    CHECK(area <= 0.33 * 1.15 + 0.01);
  }
  CHECK(erased_count > 400);
  e.p = 0.0;
  std::vector<float> untouched(C * H * W, 1.0f);
  e.apply(untouched.data(), C, H, W, rng);
  CHECK(untouched == std::vector<float>(C * H * W, 1.0f));
  e.p = 2;
  CHECK_THROWS_WITH(e.check(), "RandomErasing probability must be in [0, 1]");
}

TEST_CASE("a sample's transformed tensor is a pure function of its seed, whatever the thread") {
  const Pipeline p = imagenet_training();
  const Image img = gradient(375, 500);
  const std::size_t n = 3 * 224 * 224;
  const int samples = 24;
  std::vector<std::vector<float>> serial(samples, std::vector<float>(n));
  for (int i = samples - 1; i >= 0; --i)   // reverse order: nothing depends on what ran before
    CHECK(p.run(img, sample_seed(1, 2, i), serial[i].data(), n) == std::array<int, 3>{3, 224, 224});
  std::vector<std::vector<float>> threaded(samples, std::vector<float>(n));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = t; i < samples; i += 4) p.run(img, sample_seed(1, 2, i), threaded[i].data(), n);
    });
  for (auto& t : threads) t.join();
  std::set<std::vector<float>> distinct;
  for (int i = 0; i < samples; ++i) {
    CHECK(std::memcmp(serial[i].data(), threaded[i].data(), n * sizeof(float)) == 0);
    distinct.insert(serial[i]);
  }
  CHECK(distinct.size() == samples);
  std::vector<float> small(10);
  CHECK_THROWS_WITH(p.run(img, 0, small.data(), small.size()),
                    "transformed image 3x224x224 does not fit the buffer of 10 floats");
}
