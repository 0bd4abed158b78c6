#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "pth/key_matching.hpp"

using namespace pth;

namespace {

KeyEntry e(std::string name, std::vector<int64_t> shape) { return {std::move(name), DType::Float32, std::move(shape)}; }

// SG's example: ModelA(conv1, conv2) and ModelB(conv1, CONV2 = Sequential(conv)).
std::vector<KeyEntry> model_a() {
  return {e("conv1.weight", {6, 3, 5, 5}), e("conv1.bias", {6}), e("conv2.weight", {16, 6, 5, 5}), e("conv2.bias", {16})};
}
std::vector<KeyEntry> model_b() {
  return {e("conv1.weight", {6, 3, 5, 5}), e("conv1.bias", {6}), e("CONV2.0.weight", {16, 6, 5, 5}), e("CONV2.0.bias", {16})};
}

std::vector<std::string> targets(const MatchReport& r) {
  std::vector<std::string> out;
  for (const auto& p : r.mapping) out.push_back(p.target + "<-" + p.source);
  return out;
}

}  // namespace

TEST_CASE("strict mode names") {
  CHECK(strict_mode_from_name("on") == StrictMode::On);
  CHECK(strict_mode_from_name("off") == StrictMode::Off);
  CHECK(strict_mode_from_name("no_key_matching") == StrictMode::NoKeyMatching);
  CHECK(strict_mode_from_name("key_matching") == StrictMode::KeyMatching);
  CHECK(strict_mode_name(StrictMode::KeyMatching) == "key_matching");
  CHECK(strict_mode_from_name("True") == StrictMode::On);
  CHECK_FALSE(strict_mode_from_name("sometimes"));
  CHECK(strict_mode_name(StrictMode::NoKeyMatching) == "no_key_matching");
}

TEST_CASE("identical state dicts match in every mode") {
  for (StrictMode m : {StrictMode::On, StrictMode::Off, StrictMode::NoKeyMatching, StrictMode::KeyMatching}) {
    MatchReport r = match_keys(model_a(), model_a(), m);
    CHECK(r.ok);
    CHECK_FALSE(r.by_position);
    CHECK(r.mapping.size() == 4);
    CHECK(r.renamed() == 0);
    CHECK(r.missing.empty());
    CHECK(r.unexpected.empty());
  }
}

TEST_CASE("ModelA -> ModelB: on refuses, off keeps conv1, no_key_matching pairs by position") {
  SECTION("on") {
    MatchReport r = match_keys(model_a(), model_b(), StrictMode::On);
    CHECK_FALSE(r.ok);
    CHECK(r.missing == std::vector<std::string>{"CONV2.0.weight", "CONV2.0.bias"});
    CHECK(r.unexpected == std::vector<std::string>{"conv2.weight", "conv2.bias"});
    CHECK(r.failure.find("2 missing, 2 unexpected") != std::string::npos);
    const std::string text = match_report_to_text(r);
    CHECK(text.find("CONV2.0.weight") != std::string::npos);
    CHECK(text.find("result: FAILED") != std::string::npos);
  }
  SECTION("off") {
    MatchReport r = match_keys(model_a(), model_b(), StrictMode::Off);
    CHECK(r.ok);
    CHECK(targets(r) == std::vector<std::string>{"conv1.weight<-conv1.weight", "conv1.bias<-conv1.bias"});
    CHECK(r.missing.size() == 2);
    CHECK(r.unexpected.size() == 2);
  }
  SECTION("no_key_matching") {
    MatchReport r = match_keys(model_a(), model_b(), StrictMode::NoKeyMatching);
    CHECK(r.ok);
    CHECK(r.by_position);
    CHECK(targets(r) == std::vector<std::string>{"conv1.weight<-conv1.weight", "conv1.bias<-conv1.bias",
                                                 "CONV2.0.weight<-conv2.weight", "CONV2.0.bias<-conv2.bias"});
    CHECK(r.renamed() == 2);
    CHECK(r.missing.empty());
    CHECK(r.unexpected.empty());
    // and back
    MatchReport back = match_keys(model_b(), model_a(), StrictMode::NoKeyMatching);
    CHECK(back.ok);
    CHECK(back.mapping[2].target == "conv2.weight");
    CHECK(back.mapping[2].source == "CONV2.0.weight");
  }
}

TEST_CASE("off: a matching name with another shape is an error, as in PyTorch") {
  auto target = model_a();
  target[1].shape = {7};
  MatchReport r = match_keys(model_a(), target, StrictMode::Off);
  CHECK_FALSE(r.ok);
  REQUIRE(r.mismatched.size() == 1);
  CHECK(r.mismatched[0].target == "conv1.bias");
  CHECK(r.mismatched[0].source_shape == std::vector<int64_t>{6});
  CHECK(r.mismatched[0].target_shape == std::vector<int64_t>{7});
  // on fails the same way
  CHECK_FALSE(match_keys(model_a(), target, StrictMode::On).ok);
}

TEST_CASE("off with no common name loads nothing but says so") {
  MatchReport r = match_keys({e("x", {1})}, {e("y", {1})}, StrictMode::Off);
  CHECK(r.ok);
  CHECK(r.mapping.empty());
  CHECK(r.notes.size() == 1);
}

TEST_CASE("no_key_matching pairs by position up to the target's length, as SG's zip() does") {
  auto longer = model_a();
  longer.push_back(e("fc.weight", {10, 16}));
  MatchReport r = match_keys(longer, model_b(), StrictMode::NoKeyMatching);
  CHECK(r.ok);
  CHECK(r.by_position);
  CHECK(r.mapping.size() == 4);
  CHECK(r.missing.empty());
  CHECK(r.unexpected == std::vector<std::string>{"fc.weight"});
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0].find("1 trailing source entries left out") != std::string::npos);

  // Fewer source entries than target ones: the target would keep entries it did not get.
  auto shorter = model_a();
  shorter.pop_back();
  MatchReport s = match_keys(shorter, model_b(), StrictMode::NoKeyMatching);
  CHECK_FALSE(s.ok);
  CHECK(s.failure.find("source has 3 entries, target 4") != std::string::npos);
  CHECK_FALSE(s.by_position);
}

TEST_CASE("key_matching loads what matches by name and shape and skips the rest (SG's transfer_weights)") {
  std::vector<KeyEntry> source = {e("conv.weight", {8, 3, 3, 3}), e("fc.weight", {1000, 8}), e("fc.bias", {1000}),
                                  e("aux.weight", {4})};
  std::vector<KeyEntry> target = {e("conv.weight", {8, 3, 3, 3}), e("fc.weight", {10, 8}), e("fc.bias", {10}),
                                  e("bn.weight", {8})};
  MatchReport r = match_keys(source, target, StrictMode::KeyMatching);
  CHECK(r.ok);
  CHECK_FALSE(r.by_position);
  CHECK(targets(r) == std::vector<std::string>{"conv.weight<-conv.weight"});
  CHECK(r.mismatched.size() == 2);
  CHECK(r.missing == std::vector<std::string>{"bn.weight"});
  CHECK(r.unexpected == std::vector<std::string>{"aux.weight"});
  CHECK(match_report_to_text(r).find("2 entries whose names match with another shape skipped") != std::string::npos);
  CHECK(match_report_to_json(r)["mode"] == "key_matching");

  // Exact fit: a plain strict load.
  MatchReport exact = match_keys(target, target, StrictMode::KeyMatching);
  CHECK(exact.ok);
  CHECK(exact.mapping.size() == 4);
  CHECK(exact.notes.empty());
  // Nothing in common: ok, but said.
  MatchReport none = match_keys({e("x", {1})}, {e("y", {2})}, StrictMode::KeyMatching);
  CHECK(none.ok);
  CHECK(none.mapping.empty());
  CHECK(none.notes.back().find("nothing is loaded") != std::string::npos);
}

TEST_CASE("no_key_matching: a shape mismatch by position names both keys and shapes") {
  auto target = model_b();
  target[2].shape = {16, 6, 3, 3};
  MatchReport r = match_keys(model_a(), target, StrictMode::NoKeyMatching);
  CHECK_FALSE(r.ok);
  CHECK(r.by_position);
  REQUIRE(r.mismatched.size() == 1);
  CHECK(r.mismatched[0].target == "CONV2.0.weight");
  CHECK(r.mismatched[0].source == "conv2.weight");
  CHECK(r.failure.find("'CONV2.0.weight' [16, 6, 3, 3] vs source 'conv2.weight' [16, 6, 5, 5]") != std::string::npos);
  const auto j = match_report_to_json(r);
  CHECK(j["ok"] == false);
  CHECK(j["mismatched"][0]["source_shape"] == std::vector<int64_t>{16, 6, 5, 5});
}

TEST_CASE("no_key_matching: order matters when pairing by position") {
  // Same shapes, names differ and order swapped: paired by position (SG's behaviour).
  std::vector<KeyEntry> source = {e("a", {3}), e("b", {3})};
  std::vector<KeyEntry> target = {e("y", {3}), e("x", {3})};
  MatchReport r = match_keys(source, target, StrictMode::NoKeyMatching);
  CHECK(r.ok);
  CHECK(targets(r) == std::vector<std::string>{"y<-a", "x<-b"});
}

TEST_CASE("a DDP module. prefix on every source key is ignored") {
  std::vector<KeyEntry> source;
  for (KeyEntry k : model_a()) {
    k.name = "module." + k.name;
    source.push_back(k);
  }
  MatchReport r = match_keys(source, model_a(), StrictMode::On);
  CHECK(r.ok);
  CHECK(r.stripped_prefix == "module.");
  CHECK(r.mapping[0].target == "conv1.weight");
  CHECK(r.mapping[0].source == "module.conv1.weight");
  // Only when every key has it.
  source[0].name = "conv1.weight";
  CHECK_FALSE(match_keys(source, model_a(), StrictMode::On).ok);
}

TEST_CASE("report renderers") {
  MatchReport r = match_keys(model_a(), model_b(), StrictMode::NoKeyMatching);
  const std::string text = match_report_to_text(r);
  CHECK(text.find("CONV2.0.weight <- conv2.weight") != std::string::npos);
  CHECK(text.find("result: ok") != std::string::npos);
  const auto j = match_report_to_json(r);
  CHECK(j["mode"] == "no_key_matching");
  CHECK(j["by_position"] == true);
  CHECK(j["mapping"].size() == 4);
  CHECK(j["failure"].is_null());
}
