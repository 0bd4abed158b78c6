// sg-ckpt-adapt from safetensors to safetensors with key edits only works on the header;
// it must write what the general path (taken here through a --dtype that converts
// nothing) writes, and refuse what it refuses with the same words.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "pth/adapt.hpp"
#include "pth/safetensors.hpp"
#include "memory_tensor.hpp"
#include "temp_dir.hpp"

using namespace pth;
namespace fs = std::filesystem;

namespace {

std::string bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A file image: 8-byte length, header (as given), data.
std::string image(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char(uint8_t(uint64_t(header.size()) >> (8 * i)));
  return out + header + data;
}

// Floats of one dtype (`floats`), integers, bool, and empty tensors.
std::vector<NamedTensor> mixed(DType floats) {
  auto f = [&](std::vector<uint16_t> half_bits, std::vector<int64_t> shape) {
    if (floats == DType::Float32) {
      std::vector<float> v(half_bits.begin(), half_bits.end());
      return tensor_of(DType::Float32, v, shape);
    }
    return tensor_of(floats, half_bits, shape);
  };
  return {{"backbone.conv1.weight", f({1, 2, 3, 4, 5, 6}, {2, 3})},
          {"backbone.conv1.bias", f({7, 8}, {2})},
          {"backbone.bn.num_batches_tracked", tensor_of(DType::Int64, std::vector<int64_t>{42}, {})},
          {"backbone.empty", f({}, {0, 3})},
          {"head.mask", tensor_of(DType::Bool, std::vector<uint8_t>{1, 0, 1}, {3})},
          {"head.index", tensor_of(DType::Int32, std::vector<int32_t>{-1, 5}, {2})},
          {"head.bytes", tensor_of(DType::UInt8, std::vector<uint8_t>{9, 8, 7, 6}, {2, 2})},
          {"head.fc.weight", f({10, 11, 12, 13}, {2, 2})},
          {"head.fc.bias", f({14, 15}, {2})}};
}

struct Outcome {
  std::string bytes;     // the output, or the error
  size_t tensors = 0;
  uint64_t tensor_bytes = 0;
  std::vector<std::string> notes;
  bool operator==(const Outcome& o) const {
    return bytes == o.bytes && tensors == o.tensors && tensor_bytes == o.tensor_bytes && notes == o.notes;
  }
};

Outcome run(AdaptOptions o) {
  Outcome out;
  std::error_code ec;
  fs::remove(o.output, ec);
  try {
    const AdaptResult r = adapt(o);
    REQUIRE(r.ok);
    REQUIRE(r.written);
    CHECK(r.converted == 0);
    out.bytes = bytes_of(o.output);
    out.tensors = r.tensors;
    out.tensor_bytes = r.tensor_bytes;
    out.notes = r.notes;
  } catch (const AdaptError& e) {
    out.bytes = std::string("error: ") + e.what();
    CHECK_FALSE(fs::exists(o.output));
  }
  return out;
}

// The header-only path's outcome, then the general path's.
std::pair<Outcome, Outcome> both(AdaptOptions o, DType floats) {
  const Outcome header_only = run(o);
  o.dtype = floats;
  return {header_only, run(o)};
}

}  // namespace

TEST_CASE("adapt safetensors key edits: the bytes of the general path") {
  TempDir dir;
  const DType floats = GENERATE(DType::Float32, DType::Float16, DType::BFloat16);
  const StringPairs metadata = GENERATE(StringPairs{}, StringPairs{{"format", "pt"}, {"epoch", "3"}});
  write_safetensors(dir.file("in.safetensors"), mixed(floats), metadata);
  AdaptOptions o;
  o.input = dir.file("in.safetensors");
  o.output = dir.file("out.safetensors");
  o.force = true;
  SECTION("no edits") {}
  SECTION("--add-prefix") { o.add_prefix = "model."; }
  SECTION("--strip-prefix") { o.strip_prefix = "backbone."; }
  SECTION("--rename, in order") { o.renames = {R"(^backbone\.(\w+)\.=body.$1_)", "fc=classifier"}; }
  SECTION("--drop") { o.drop = {"bias$", "empty"}; }
  SECTION("--keep") { o.keep = {"^head\\."}; }
  SECTION("all of them") {
    o.strip_prefix = "head.";
    o.renames = {"^(fc)\\.=$1_"};
    o.drop = {"mask"};
    o.keep = {"_|index|backbone"};
    o.add_prefix = "m.";
  }
  const auto [header_only, general] = both(o, floats);
  CHECK(header_only.bytes.rfind("error: ", 0) == std::string::npos);
  CHECK(header_only == general);
}

TEST_CASE("adapt safetensors key edits: refusals as the general path words them") {
  TempDir dir;
  AdaptOptions o;
  o.input = dir.file("in.safetensors");
  o.output = dir.file("out.safetensors");
  const std::string f32x2 = R"("dtype":"F32","shape":[2])";
  const std::string eight(8, '\0');
  SECTION("edits") {
    write_safetensors(o.input, mixed(DType::Float32));
    SECTION("two names made one") { o.renames = {"^.*\\.(weight|bias)$=$1"}; }
    SECTION("nothing to strip") { o.strip_prefix = "module."; }
    SECTION("nothing left") { o.keep = {"^nothing$"}; }
    SECTION("a name safetensors reserves") { o.renames = {"^head\\.mask$=__metadata__"}; }
    const auto [header_only, general] = both(o, DType::Float32);
    CHECK(header_only.bytes.rfind("error: ", 0) == 0);
    CHECK(header_only == general);
  }
  SECTION("hostile headers") {
    std::string file;
    SECTION("length past the end") { file = image("{}", "").substr(0, 8) + std::string(4, '{'); file[0] = char(200); }
    SECTION("not JSON") { file = image("{\"a\": nope}", ""); }
    SECTION("unknown dtype") { file = image(R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", eight); }
    SECTION("size other than numel * itemsize") { file = image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight); }
    SECTION("overlap") {
      file = image("{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]},\"b\":{" + f32x2 + ",\"data_offsets\":[4,12]}}",
                   std::string(12, '\0'));
    }
    SECTION("gap") { file = image("{\"a\":{" + f32x2 + ",\"data_offsets\":[4,12]}}", std::string(12, '\0')); }
    SECTION("names twice") {
      file = image("{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]},\"a\":{" + f32x2 + ",\"data_offsets\":[8,16]}}",
                   std::string(16, '\0'));
    }
    SECTION("a tensor named net") { file = image("{\"net\":{" + f32x2 + ",\"data_offsets\":[0,8]}}", eight); }
    write_bytes(o.input, file);
    o.add_prefix = "m.";
    const auto [header_only, general] = both(o, DType::Float32);
    CHECK(header_only.bytes.rfind("error: " + o.input + ": ", 0) == 0);
    CHECK(header_only == general);
  }
}
