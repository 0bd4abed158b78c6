// SG's RandAugmentTransform: its config string read as SG reads it (and refused where SG's
// reading is broken), the fill colour, the draws (ops uniform, each applied with probability
// 0.5, the magnitude noise and sign), and an image's output a pure function of its seed.
// The ops' pixels are checked against PIL in test/python/test_rand_augment.py.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>
#include <stdexcept>

#include "image/rand_augment.hpp"
#include "temp_dir.hpp"

using namespace sg::image;

namespace {

// Noise: every op changes it.
Image picture(int h, int w) {
  Image img(h, w, 3);
  Rng rng(42);
  for (std::uint8_t& p : img.pixels) p = static_cast<std::uint8_t>(rng.randint(0, 256));
  return img;
}

std::string config_error(const std::string& config) {
  return error_message<std::invalid_argument>([&] { parse_rand_augment_config(config); });
}

const std::vector<double> kMean = {0.485, 0.456, 0.406};

}  // namespace

TEST_CASE("config strings are read as SG reads them") {
  const auto plain = parse_rand_augment_config("rand");
  CHECK(plain.magnitude == 10);
  CHECK(plain.num_ops == 2);
  CHECK(plain.magnitude_std == 0.0);
  CHECK(!plain.increasing);
  CHECK(!plain.weighted);

  const auto m9 = parse_rand_augment_config("rand-m9-mstd0.5");
  CHECK(m9.magnitude == 9);
  CHECK(m9.num_ops == 2);
  CHECK(m9.magnitude_std == 0.5);

  const auto all = parse_rand_augment_config("rand-n3-m7-mstd1-inc1-w0");
  CHECK(all.magnitude == 7);
  CHECK(all.num_ops == 3);
  CHECK(all.magnitude_std == 1.0);
  CHECK(all.increasing);
  CHECK(all.weighted);

  // SG tests bool("0"), which is True: inc0 selects the increasing list too.
  CHECK(parse_rand_augment_config("rand-inc0").increasing);
}

TEST_CASE("bad config strings are refused with the string and the section named") {
  const std::map<std::string, std::string> cases = {
      {"rand-mmax10", "unknown key 'mmax'"},
      {"rand-m9-x3", "unknown key 'x'"},
      {"rand-m9-m8", "'m' given twice"},
      {"rand-m", "section 'm' has no value"},
      {"rand--m9", "section '' has no value"},
      {"rand-m9a", "section 'm9a': expected a whole number"},
      {"rand-n2.5", "section 'n2.5': expected a whole number"},
      {"rand-mstd0.5.1", "section 'mstd0.5.1': expected a number"},
      {"rand-w1", "only weight set 0"},
      {"rand-w0-n14", "n must be at most 13"},
      {"augment-m9", "must start with 'rand'"},
      {"", "must start with 'rand'"},
  };
  for (const auto& [config, needle] : cases) {
    INFO(config);
    const std::string message = config_error(config);
    CHECK(message != "<no error>");
    CHECK(message.find("RandAugment config '" + config + "'") == 0);
    CHECK(message.find(needle) != std::string::npos);
  }
}

TEST_CASE("the op lists, the fill colour and the constructor's checks") {
  const RandAugment plain("rand-m9-mstd0.5", 224, kMean);
  std::vector<std::string> names;
  for (AugmentOp op : plain.ops()) names.push_back(augment_op_name(op));
  CHECK(names == std::vector<std::string>{"AutoContrast", "Equalize", "Invert", "Rotate", "Posterize", "Solarize",
                                          "SolarizeAdd", "Color", "Contrast", "Brightness", "Sharpness", "ShearX",
                                          "ShearY", "TranslateXRel", "TranslateYRel"});
  const RandAugment inc("rand-inc1", 224, kMean);
  names.clear();
  for (AugmentOp op : inc.ops()) names.push_back(augment_op_name(op));
  CHECK(names == std::vector<std::string>{"AutoContrast", "Equalize", "Invert", "Rotate", "PosterizeIncreasing",
                                          "SolarizeIncreasing", "SolarizeAdd", "ColorIncreasing",
                                          "ContrastIncreasing", "BrightnessIncreasing", "SharpnessIncreasing",
                                          "ShearX", "ShearY", "TranslateXRel", "TranslateYRel"});
  for (AugmentOp op : inc.ops()) CHECK(parse_augment_op(augment_op_name(op)) == op);

  // min(255, round(255 * v)): 123.675 -> 124, 116.28 -> 116, 103.53 -> 104; 1.5 -> 255.
  CHECK(plain.fill() == std::vector<std::uint8_t>{124, 116, 104});
  CHECK(RandAugment("rand", 32, {1.5}).fill() == std::vector<std::uint8_t>{255});

  CHECK_THROWS_WITH(RandAugment("rand", 0, kMean), "RandAugment crop_size must be positive");
  CHECK_THROWS_WITH(RandAugment("rand", 224, {}), "RandAugment img_mean must have a value per channel");
  CHECK_THROWS_WITH(RandAugment("rand", 224, {0.5, -0.1, 0.5}), "RandAugment img_mean values must be >= 0");
  CHECK_THROWS_WITH(RandAugment("rand-q1", 224, kMean), Catch::Contains("unknown key 'q'"));
  CHECK_THROWS_WITH(parse_augment_op("Cutout"), Catch::Contains("unknown RandAugment op 'Cutout'"));
  CHECK_THROWS_WITH(apply_augment_op(AugmentOp::rotate, picture(4, 4), 10.5, false, {1, 2, 3}),
                    "RandAugment magnitude must be in [0, 10]");
  Rng rng(1);
  CHECK_THROWS_WITH(plain.apply(Image(4, 4, 1), rng), Catch::Contains("img_mean has 3 values but the image has 1"));
}

TEST_CASE("the draws: ops uniform, each applied with probability 0.5, magnitude noise clipped") {
  const RandAugment ra("rand-m9-mstd0.5", 224, kMean);
  const int images = 20000;
  std::map<AugmentOp, int> chosen;
  int applied = 0, untouched = 0, signed_applied = 0, negated = 0;
  double sum = 0, sum_sq = 0;
  for (int i = 0; i < images; ++i) {
    Rng rng(sample_seed(7, 0, i));
    const auto steps = ra.draw(rng);
    REQUIRE(steps.size() == 2);
    int here = 0;
    for (const auto& s : steps) {
      ++chosen[s.op];
      if (!s.applied) continue;
      ++here;
      REQUIRE(s.magnitude >= 0.0);
      REQUIRE(s.magnitude <= 10.0);
      sum += s.magnitude;
      sum_sq += s.magnitude * s.magnitude;
      if (augment_op_signed(s.op)) {
        ++signed_applied;
        negated += s.negate;
      } else {
        REQUIRE(!s.negate);
      }
    }
    applied += here;
    untouched += here == 0;
  }
  // 40000 picks of 15 ops: 2667 each, standard deviation about 50.
  CHECK(chosen.size() == 15);
  for (const auto& [op, n] : chosen) {
    INFO(augment_op_name(op));
    CHECK(std::abs(n - 2 * images / 15.0) < 250);
  }
  CHECK(std::abs(applied / (2.0 * images) - 0.5) < 0.01);
  CHECK(std::abs(untouched / double(images) - 0.25) < 0.015);   // both ops skipped
  CHECK(std::abs(negated / double(signed_applied) - 0.5) < 0.02);
  const double mean = sum / applied, sd = std::sqrt(sum_sq / applied - mean * mean);
  CHECK(std::abs(mean - 9.0) < 0.02);   // N(9, 0.5) clipped at 10 moves the mean by 0.004
  CHECK(std::abs(sd - 0.5) < 0.02);

  // Without mstd the magnitude is m itself; above 10 it is clipped.
  for (const auto& [config, expected] : std::map<std::string, double>{{"rand-m7", 7.0}, {"rand-m15", 10.0}}) {
    const RandAugment fixed(config, 224, kMean);
    for (int i = 0; i < 200; ++i) {
      Rng rng(i);
      for (const auto& s : fixed.draw(rng))
        if (s.applied) CHECK(s.magnitude == expected);
    }
  }
  // n ops per image.
  Rng rng(3);
  CHECK(RandAugment("rand-n5", 224, kMean).draw(rng).size() == 5);
  CHECK(RandAugment("rand-n0", 224, kMean).draw(rng).empty());
}

TEST_CASE("w0: SG's weights, without replacement") {
  const RandAugment ra("rand-m9-n2-w0", 224, kMean);
  const int images = 20000;
  int rotate_first = 0;
  for (int i = 0; i < images; ++i) {
    Rng rng(sample_seed(11, 0, i));
    const auto steps = ra.draw(rng);
    REQUIRE(steps.size() == 2);
    CHECK(steps[0].op != steps[1].op);
    for (const auto& s : steps) {
      CHECK(s.op != AugmentOp::invert);      // weight 0
      CHECK(s.op != AugmentOp::posterize);   // weight 0
    }
    rotate_first += steps[0].op == AugmentOp::rotate;
  }
  CHECK(std::abs(rotate_first / double(images) - 0.3) < 0.015);   // Rotate's weight
  Rng rng(5);
  std::set<AugmentOp> all;
  for (const auto& s : RandAugment("rand-n13-w0", 224, kMean).draw(rng)) all.insert(s.op);
  CHECK(all.size() == 13);
}

TEST_CASE("an image's output is a pure function of its seed, and is its draw applied") {
  const RandAugment ra("rand-m9-mstd0.5", 224, kMean);
  const Image in = picture(23, 31);
  int unchanged = 0;
  std::set<std::vector<std::uint8_t>> outputs;
  for (std::uint64_t seed = 0; seed < 60; ++seed) {
    Rng a(seed), b(seed), c(seed);
    const Image out = ra.apply(in, a);
    CHECK(ra.apply(in, b).pixels == out.pixels);
    Image expected = in;
    bool any = false;
    for (const auto& s : ra.draw(c)) {
      if (!s.applied) continue;
      any = true;
      expected = apply_augment_op(s.op, expected, s.magnitude, s.negate, ra.fill());
    }
    CHECK(expected.pixels == out.pixels);
    if (!any) {
      CHECK(out.pixels == in.pixels);
      ++unchanged;
    }
    outputs.insert(out.pixels);
  }
  CHECK(unchanged > 0);
  CHECK(outputs.size() > 30);
}
