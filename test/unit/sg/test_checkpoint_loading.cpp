// checkpoint_params loading (sg/checkpoint_loading.hpp): strict modes, the DDP prefix, EMA
// preferred, load_backbone, checkpoint_num_classes head replacement, the model zoo with its
// SHA-256 manifest, and error messages that name the keys.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "pth/checkpoint.hpp"
#include "pth/sha256.hpp"
#include "recipe/recipe.hpp"
#include "sg/checkpoint/checkpoint_loading.hpp"
#include "sg/checkpoint/tensor_convert.hpp"
#include "sg/models/model.hpp"
#include "temp_dir.hpp"

namespace {

std::shared_ptr<sg::Classifier> make(int64_t num_classes, uint64_t seed) {
  torch::manual_seed(seed);
  return sg::create_model("resnet_mini", {num_classes, 3, {}});
}

// The model's state dict as a pth dict (cloned), names changed by `rename`.
pth::Value state_value(const sg::Classifier& model, const std::string& prefix = "",
                       const std::string& from = "", const std::string& to = "") {
  sg::NamedTensors out;
  for (const auto& [name, t] : sg::state_dict(model)) out.emplace_back(prefix + (name == from ? to : name), t.clone());
  return sg::to_pth_state_dict(out);
}

pth::Value sg_checkpoint(const pth::Value& net, const pth::Value* ema = nullptr) {
  pth::Value root = pth::Value::dict();
  root.as_dict().items.emplace_back(pth::Value::string("net"), net);
  if (ema) root.as_dict().items.emplace_back(pth::Value::string("ema_net"), *ema);
  root.as_dict().items.emplace_back(pth::Value::string("epoch"), pth::Value::integer(3));
  return root;
}

bool under_head(const sg::Classifier& m, const std::string& name) {
  const std::string head = m.head_name();
  return name == head || name.rfind(head + ".", 0) == 0;
}

// Every entry equal (only the backbone's when backbone_only).
bool same_weights(const sg::Classifier& a, const sg::Classifier& b, bool backbone_only = false) {
  const auto sa = sg::state_dict(a), sb = sg::state_dict(b);
  if (sa.size() != sb.size()) return false;
  for (size_t i = 0; i < sa.size(); ++i) {
    if (sa[i].first != sb[i].first) return false;
    if (backbone_only && under_head(a, sa[i].first)) continue;
    if (!sa[i].second.sizes().equals(sb[i].second.sizes()) || !torch::equal(sa[i].second, sb[i].second)) return false;
  }
  return true;
}

torch::Tensor entry(const sg::Classifier& m, const std::string& name) {
  for (const auto& [n, t] : sg::state_dict(m))
    if (n == name) return t;
  FAIL("no entry " << name);
  return {};
}

std::string first_conv(const sg::Classifier& m) { return sg::state_dict(m).front().first; }
std::string head_weight(const sg::Classifier& m) { return m.head_name() + ".weight"; }

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const sg::CheckpointLoadError& e) {
    return e.what();
  }
  FAIL("no CheckpointLoadError");
  return {};
}

}  // namespace

TEST_CASE("strict on: an exact state dict loads, a module. prefix is stripped") {
  TempDir dir;
  auto source = make(10, 1);
  const std::string plain = dir.file("plain.pth"), ddp = dir.file("ddp.pth");
  pth::write_checkpoint(plain, state_value(*source));
  pth::write_checkpoint(ddp, sg_checkpoint(state_value(*source, "module.")));
  for (const std::string& path : {plain, ddp}) {
    auto model = make(10, 2);
    REQUIRE_FALSE(same_weights(*model, *source));
    const auto report = sg::load_checkpoint_weights(*model, path, pth::StrictMode::On);
    CHECK(report.ok);
    CHECK(same_weights(*model, *source));
  }
}

TEST_CASE("ema_net is preferred over net; net over the root") {
  TempDir dir;
  auto a = make(10, 1), b = make(10, 2);
  const pth::Value ema = state_value(*b);
  const std::string both = dir.file("both.pth"), net_only = dir.file("net.pth");
  pth::write_checkpoint(both, sg_checkpoint(state_value(*a), &ema));
  pth::write_checkpoint(net_only, sg_checkpoint(state_value(*a)));
  auto model = make(10, 3);
  sg::load_checkpoint_weights(*model, both, pth::StrictMode::On);
  CHECK(same_weights(*model, *b));
  sg::load_checkpoint_weights(*model, net_only, pth::StrictMode::On);
  CHECK(same_weights(*model, *a));
}

TEST_CASE("strict modes with a renamed entry") {
  TempDir dir;
  auto source = make(10, 1);
  const std::string conv = first_conv(*source);
  const std::string path = dir.file("renamed.pth");
  pth::write_checkpoint(path, state_value(*source, "", conv, "stem.renamed.weight"));

  SECTION("on refuses, naming the missing and the unexpected key") {
    auto model = make(10, 2);
    auto before = make(10, 2);
    const std::string what = message_of([&] { sg::load_checkpoint_weights(*model, path, pth::StrictMode::On); });
    CHECK_THAT(what, Catch::Contains("missing: " + conv));
    CHECK_THAT(what, Catch::Contains("unexpected: stem.renamed.weight"));
    CHECK_THAT(what, Catch::Contains("strict_load=on"));
    CHECK(what.find('\n') == std::string::npos);
    CHECK(same_weights(*model, *before));   // nothing copied
  }
  SECTION("off loads what matches by name and leaves the rest") {
    auto model = make(10, 2);
    const torch::Tensor kept = entry(*model, conv).clone();
    const auto report = sg::load_checkpoint_weights(*model, path, pth::StrictMode::Off);
    CHECK(report.ok);
    CHECK(torch::equal(entry(*model, conv), kept));
    CHECK(torch::equal(entry(*model, head_weight(*model)), entry(*source, head_weight(*source))));
  }
  SECTION("no_key_matching pairs by position") {
    auto model = make(10, 2);
    const auto report = sg::load_checkpoint_weights(*model, path, pth::StrictMode::NoKeyMatching);
    CHECK(report.by_position);
    CHECK(same_weights(*model, *source));
  }
}

TEST_CASE("another class count: the error names the head's keys and both shapes") {
  TempDir dir;
  auto source = make(5, 1);
  const std::string path = dir.file("five.pth");
  pth::write_checkpoint(path, sg_checkpoint(state_value(*source)));
  auto model = make(10, 2);
  const auto features = entry(*model, head_weight(*model)).size(1);
  const std::string f = std::to_string(features);
  for (auto mode : {pth::StrictMode::On, pth::StrictMode::Off, pth::StrictMode::NoKeyMatching}) {
    const std::string what = message_of([&] { sg::load_checkpoint_weights(*model, path, mode); });
    CHECK_THAT(what, Catch::Contains(head_weight(*model) + " [10, " + f + "] in the model vs [5, " + f + "] in the checkpoint"));
    CHECK_THAT(what, Catch::Contains("checkpoint_num_classes=5"));
    CHECK_THAT(what, Catch::Contains(path));
    CHECK(what.find('\n') == std::string::npos);
  }
}

TEST_CASE("key_matching: another class count loads the backbone and keeps the model's head (SG's transfer_weights)") {
  TempDir dir;
  auto source = make(5, 1);
  const std::string path = dir.file("five.pth");
  pth::write_checkpoint(path, sg_checkpoint(state_value(*source)));
  auto model = make(10, 2);
  const torch::Tensor head = entry(*model, head_weight(*model)).clone();
  const auto report = sg::load_checkpoint_weights(*model, path, pth::StrictMode::KeyMatching);
  CHECK(report.ok);
  CHECK(report.mismatched.size() == 2);   // the head's weight and bias
  CHECK(same_weights(*model, *source, /*backbone_only=*/true));
  CHECK(torch::equal(entry(*model, head_weight(*model)), head));

  sg::Recipe r(YAML::Load("checkpoint_params: {strict_load: StrictLoad.KEY_MATCHING}"));
  CHECK(sg::read_checkpoint_params(r).strict_load == pth::StrictMode::KeyMatching);
}

TEST_CASE("checkpoint_num_classes: the backbone is loaded, the head replaced with a fresh one") {
  TempDir dir;
  auto source = make(5, 1);
  sg::CheckpointParams p;
  p.checkpoint_path = dir.file("five.pth");
  pth::write_checkpoint(p.checkpoint_path, sg_checkpoint(state_value(*source)));
  p.checkpoint_num_classes = 5;
  auto model = make(10, 2);
  sg::load_initial_weights(*model, "resnet_mini", 10, p);
  CHECK(same_weights(*model, *source, /*backbone_only=*/true));
  const torch::Tensor w = entry(*model, head_weight(*model));
  CHECK(w.size(0) == 10);
  CHECK_FALSE(torch::equal(w.narrow(0, 0, 5), entry(*source, head_weight(*source))));
  CHECK(model->forward(torch::zeros({2, 3, 8, 8})).sizes() == torch::IntArrayRef({2, 10}));

  SECTION("without it, loading fails naming the head") {
    p.checkpoint_num_classes.reset();
    auto other = make(10, 2);
    CHECK_THROWS_WITH(sg::load_initial_weights(*other, "resnet_mini", 10, p), Catch::Contains(head_weight(*other)));
  }
}

TEST_CASE("load_backbone: everything but the head, under any strict mode") {
  TempDir dir;
  auto source = make(5, 1);
  sg::CheckpointParams p;
  p.checkpoint_path = dir.file("five.pth");
  pth::write_checkpoint(p.checkpoint_path, state_value(*source));
  p.load_backbone = true;
  for (auto mode : {pth::StrictMode::On, pth::StrictMode::Off, pth::StrictMode::NoKeyMatching}) {
    p.strict_load = mode;
    auto model = make(10, 2);
    const torch::Tensor head = entry(*model, head_weight(*model)).clone();
    sg::load_initial_weights(*model, "resnet_mini", 10, p);
    CHECK(same_weights(*model, *source, true));
    CHECK(torch::equal(entry(*model, head_weight(*model)), head));
  }
}

TEST_CASE("pretrained_weights: the zoo file is checked against the manifest") {
  TempDir dir;
  auto source = make(100, 1);   // cifar100's class count
  const std::string file = dir.file("resnet_mini_cifar100.pth");
  pth::write_checkpoint(file, state_value(*source));
  sg::CheckpointParams p;
  p.pretrained_weights = "cifar100";
  p.zoo = dir.path().string();
  auto model = make(10, 2);

  SECTION("no manifest") {
    CHECK_THROWS_WITH(sg::load_initial_weights(*model, "resnet_mini", 10, p), Catch::Contains("manifest"));
  }
  SECTION("a wrong sum") {
    std::ofstream(dir.file("manifest.json")) << R"({"resnet_mini_cifar100.pth": ")" << std::string(64, '0') << "\"}";
    CHECK_THROWS_WITH(sg::load_initial_weights(*model, "resnet_mini", 10, p), Catch::Contains("SHA-256"));
  }
  SECTION("no entry") {
    std::ofstream(dir.file("manifest.json")) << R"({"other.pth": "00"})";
    CHECK_THROWS_WITH(sg::load_initial_weights(*model, "resnet_mini", 10, p), Catch::Contains("resnet_mini_cifar100.pth"));
  }
  SECTION("a matching sum: loaded, head replaced for 10 classes") {
    std::ofstream(dir.file("manifest.json")) << R"({"resnet_mini_cifar100.pth": ")" << pth::file_sha256(file) << "\"}";
    sg::load_initial_weights(*model, "resnet_mini", 10, p);
    CHECK(same_weights(*model, *source, true));
    CHECK(entry(*model, head_weight(*model)).size(0) == 10);
  }
  SECTION("a missing file") {
    p.pretrained_weights = "imagenet";
    CHECK_THROWS_WITH(sg::load_initial_weights(*model, "resnet_mini", 10, p), Catch::Contains("resnet_mini_imagenet.pth"));
  }
}

TEST_CASE("pretrained_weights from a remote zoo: fetched into the cache, checked against its manifest") {
  if (!rclone_or_skip()) return;
  TempDir dir;
  auto source = make(100, 1);
  const std::string zoo = dir.file("zoo");
  std::filesystem::create_directories(zoo);
  const std::string file = zoo + "/resnet_mini_cifar100.pth";
  pth::write_checkpoint(file, state_value(*source));
  std::ofstream(zoo + "/manifest.json") << R"({"resnet_mini_cifar100.pth": ")" << pth::file_sha256(file) << "\"}";
  const char* home = std::getenv("HOME");
  const std::string saved_home = home ? home : "";
  ::setenv("HOME", dir.file("home").c_str(), 1);
  sg::CheckpointParams p;
  p.pretrained_weights = "cifar100";
  p.zoo = ":local:" + zoo;
  auto model = make(10, 2);

  sg::load_initial_weights(*model, "resnet_mini", 10, p);
  CHECK(same_weights(*model, *source, true));
  const std::string cached = dir.file("home/.cache/sg-models/resnet_mini_cifar100.pth");
  CHECK(file_contents(cached) == file_contents(file));
  CHECK(names_in(dir.file("home/.cache/sg-models")) == std::vector<std::string>{"resnet_mini_cifar100.pth"});

  // The zoo's file replaced by another with the old manifest: the cached copy still passes,
  // and without it the download fails the check and is not kept.
  pth::write_checkpoint(file, state_value(*make(100, 3)));
  sg::load_initial_weights(*model, "resnet_mini", 10, p);
  std::filesystem::remove(cached);
  CHECK_THROWS_WITH(sg::load_initial_weights(*model, "resnet_mini", 10, p),
                    Catch::Contains("SHA-256") && Catch::Contains(":local:" + zoo));
  CHECK(names_in(dir.file("home/.cache/sg-models")).empty());

  std::filesystem::remove(zoo + "/manifest.json");
  CHECK_THROWS_WITH(sg::load_initial_weights(*model, "resnet_mini", 10, p), Catch::Contains("manifest.json"));
  if (home) ::setenv("HOME", saved_home.c_str(), 1);
  else ::unsetenv("HOME");
}

TEST_CASE("checkpoint_path may be remote: read from a downloaded copy, named as given") {
  if (!rclone_or_skip()) return;
  TempDir dir;
  auto source = make(10, 1);
  pth::write_checkpoint(dir.file("ckpt.pth"), sg_checkpoint(state_value(*source)));
  sg::CheckpointParams p;
  p.checkpoint_path = ":local:" + dir.file("ckpt.pth");
  p.strict_load = pth::StrictMode::On;
  auto model = make(10, 2);
  sg::load_initial_weights(*model, "resnet_mini", 10, p);
  CHECK(same_weights(*model, *source, true));

  p.checkpoint_path = ":local:" + dir.file("missing.pth");
  CHECK_THROWS_WITH(sg::load_initial_weights(*model, "resnet_mini", 10, p),
                    Catch::Contains("checkpoint_params.checkpoint_path") && Catch::Contains("missing.pth"));
  // A file that does not fit: the message names the address, not the downloaded copy.
  pth::write_checkpoint(dir.file("other.pth"), sg_checkpoint(state_value(*make(5, 1))));
  p.checkpoint_path = ":local:" + dir.file("other.pth");
  const std::string why = message_of([&] { sg::load_initial_weights(*model, "resnet_mini", 10, p); });
  CHECK(why.find(p.checkpoint_path) != std::string::npos);
  CHECK(why.find("sg-remote-") == std::string::npos);
}

TEST_CASE("pretrained class counts are SG's") {
  CHECK(sg::pretrained_num_classes("imagenet") == 1000);
  CHECK(sg::pretrained_num_classes("coco") == 80);
  CHECK(sg::pretrained_num_classes("cifar10") == 10);
  CHECK(sg::pretrained_num_classes("cifar100") == 100);
  CHECK_FALSE(sg::pretrained_num_classes("nope"));
}

TEST_CASE("read_checkpoint_params reads the recipe keys") {
  sg::Recipe r(YAML::Load(
      "checkpoint_params: {load_checkpoint: False, load_backbone: True, checkpoint_path: /x.pth, strict_load: True,"
      " pretrained_weights: null, checkpoint_num_classes: 1000}"));
  const auto p = sg::read_checkpoint_params(r);
  CHECK(p.load_backbone);
  CHECK(p.checkpoint_path == "/x.pth");
  CHECK(p.strict_load == pth::StrictMode::On);
  CHECK(p.checkpoint_num_classes == 1000);
  CHECK(p.pretrained_weights.empty());

  CHECK(sg::read_checkpoint_params(sg::Recipe(YAML::Load("architecture: x"))).strict_load == pth::StrictMode::NoKeyMatching);
  CHECK_THROWS_AS(sg::read_checkpoint_params(sg::Recipe(YAML::Load("checkpoint_params: {strict_load: maybe}"))),
                  sg::RecipeError);
  CHECK_THROWS_AS(sg::read_checkpoint_params(sg::Recipe(YAML::Load("checkpoint_params: {load_backbone: True}"))),
                  sg::RecipeError);
  CHECK_THROWS_AS(sg::read_checkpoint_params(sg::Recipe(YAML::Load("checkpoint_params: {pretrained_weights: nope}"))),
                  sg::RecipeError);
}
