#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "pth/adapt.hpp"
#include "pth/checkpoint.hpp"
#include "pth/safetensors.hpp"
#include "pth/tensor_data.hpp"
#include "memory_tensor.hpp"
#include "temp_dir.hpp"

using namespace pth;
namespace fs = std::filesystem;

namespace {

template <typename T>
std::vector<T> values_of(const Tensor& t) {
  std::vector<T> out(size_t(t.numel()));
  copy_elements(t, out.data());
  return out;
}

float f(uint32_t bits) {
  float v;
  std::memcpy(&v, &bits, 4);
  return v;
}

Value state_dict(std::vector<std::pair<std::string, std::shared_ptr<Tensor>>> entries) {
  Value d = Value::dict(true);
  for (auto& [k, t] : entries) d.as_dict().items.emplace_back(Value::string(k), Value::tensor(t));
  return d;
}

// ModelA's state dict with values offset by `base`.
Value model_a(float base = 0) {
  std::vector<float> w1(6 * 3 * 5 * 5), b1(6), w2(16 * 6 * 5 * 5), b2(16);
  for (size_t i = 0; i < w1.size(); ++i) w1[i] = base + float(i) / 64;
  for (size_t i = 0; i < b1.size(); ++i) b1[i] = base - float(i);
  for (size_t i = 0; i < w2.size(); ++i) w2[i] = base + float(i % 97) / 8;
  for (size_t i = 0; i < b2.size(); ++i) b2[i] = base * 2 + float(i);
  return state_dict({{"conv1.weight", tensor_of(DType::Float32, w1, {6, 3, 5, 5})},
                     {"conv1.bias", tensor_of(DType::Float32, b1, {6})},
                     {"conv2.weight", tensor_of(DType::Float32, w2, {16, 6, 5, 5})},
                     {"conv2.bias", tensor_of(DType::Float32, b2, {16})}});
}

Value model_b() {
  return state_dict({{"conv1.weight", tensor_of(DType::Float32, std::vector<float>(450), {6, 3, 5, 5})},
                     {"conv1.bias", tensor_of(DType::Float32, std::vector<float>(6), {6})},
                     {"CONV2.0.weight", tensor_of(DType::Float32, std::vector<float>(2400), {16, 6, 5, 5})},
                     {"CONV2.0.bias", tensor_of(DType::Float32, std::vector<float>(16), {16})}});
}

Value checkpoint(Value net, Value ema = Value()) {
  Value c = Value::dict();
  c.as_dict().set("net", net);
  c.as_dict().set("epoch", Value::integer(7));
  c.as_dict().set("acc", Value::floating(0.875));
  if (!ema.is_none()) c.as_dict().set("ema_net", ema);
  c.as_dict().set("optimizer_state_dict", Value::dict());
  return c;
}

std::vector<std::string> keys_of(const Value& d) {
  std::vector<std::string> out;
  for (const auto& [k, v] : d.as_dict().items) out.push_back(k.as_string());
  return out;
}

std::string adapt_error(const AdaptOptions& o) { return error_message<AdaptError>([&] { adapt(o); }); }

// Writes `input` to <dir>/in.pth; options converting it to <dir>/out.pth.
AdaptOptions in_to_out(const TempDir& dir, const Value& input) {
  write_checkpoint(dir.file("in.pth"), input);
  AdaptOptions o;
  o.input = dir.file("in.pth");
  o.output = dir.file("out.pth");
  return o;
}

}  // namespace

TEST_CASE("float16 rounding matches c10::Half") {
  CHECK(float_to_half_bits(1.0f) == 0x3C00);
  CHECK(float_to_half_bits(-2.0f) == 0xC000);
  CHECK(float_to_half_bits(0.0f) == 0x0000);
  CHECK(float_to_half_bits(-0.0f) == 0x8000);
  CHECK(float_to_half_bits(65504.0f) == 0x7BFF);                 // largest half
  CHECK(float_to_half_bits(65519.996f) == 0x7BFF);               // just below the halfway point
  CHECK(float_to_half_bits(65520.0f) == 0x7C00);                 // halfway to 2^16: rounds to even = inf
  CHECK(float_to_half_bits(1e10f) == 0x7C00);
  CHECK(float_to_half_bits(-std::numeric_limits<float>::infinity()) == 0xFC00);
  CHECK(float_to_half_bits(std::nanf("")) == 0x7E00);
  CHECK(float_to_half_bits(-std::nanf("")) == 0xFE00);
  // ties to even at 1 + 2^-11 (halfway between 1 and 1 + 2^-10)
  CHECK(float_to_half_bits(1.0f + 0x1.0p-11f) == 0x3C00);
  CHECK(float_to_half_bits(1.0f + 3 * 0x1.0p-11f) == 0x3C02);
  CHECK(float_to_half_bits(1.0f + 0x1.0p-11f + 0x1.0p-20f) == 0x3C01);
  // subnormals: 2^-24 is the smallest; 2^-25 ties to 0; 3 * 2^-25 ties to 2 * 2^-24
  CHECK(float_to_half_bits(0x1.0p-24f) == 0x0001);
  CHECK(float_to_half_bits(0x1.0p-25f) == 0x0000);
  CHECK(float_to_half_bits(0x1.8p-24f) == 0x0002);
  CHECK(float_to_half_bits(0x1.0p-25f + 0x1.0p-40f) == 0x0001);
  CHECK(float_to_half_bits(0x1.0p-14f) == 0x0400);               // smallest normal
  CHECK(float_to_half_bits(0x1.ff8p-15f) == 0x03FF);             // largest subnormal
  CHECK(float_to_half_bits(0x1.ffcp-15f) == 0x0400);             // tie: rounds (to even) into the normals
  CHECK(float_to_half_bits(1e-30f) == 0x0000);
  // Every half value survives half -> float -> half.
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float v = half_bits_to_float(uint16_t(h));
    if (std::isnan(v)) continue;
    REQUIRE(float_to_half_bits(v) == h);
  }
  CHECK(half_bits_to_float(0x0001) == 0x1.0p-24f);
  CHECK(half_bits_to_float(0xFBFF) == -65504.0f);
}

TEST_CASE("bfloat16 rounding matches c10::BFloat16") {
  CHECK(float_to_bfloat16_bits(1.0f) == 0x3F80);
  CHECK(float_to_bfloat16_bits(f(0x3F808000)) == 0x3F80);   // tie, even stays
  CHECK(float_to_bfloat16_bits(f(0x3F818000)) == 0x3F82);   // tie, odd rounds up
  CHECK(float_to_bfloat16_bits(f(0x3F808001)) == 0x3F81);
  CHECK(float_to_bfloat16_bits(f(0x7F7FFFFF)) == 0x7F80);   // FLT_MAX rounds to inf
  CHECK(float_to_bfloat16_bits(-0.0f) == 0x8000);
  CHECK(float_to_bfloat16_bits(std::nanf("")) == 0x7FC0);
  CHECK(float_to_bfloat16_bits(f(0x00000001)) == 0x0000);   // smallest subnormal
  CHECK(float_to_bfloat16_bits(f(0x00018000)) == 0x0002);
  CHECK(bfloat16_bits_to_float(0x3F82) == f(0x3F820000));
}

TEST_CASE("convert_tensor: float32 -> float16/bfloat16, float64 through float32, others untouched") {
  auto t = tensor_of<float>(DType::Float32, {1.0f, 65520.0f, 0x1.0p-25f, -3.5f}, {2, 2});
  auto h = convert_tensor(t, DType::Float16);
  CHECK(h->dtype == DType::Float16);
  CHECK(h->shape == std::vector<int64_t>{2, 2});
  CHECK(values_of<uint16_t>(*h) == std::vector<uint16_t>{0x3C00, 0x7C00, 0x0000, 0xC300});
  auto b = convert_tensor(t, DType::BFloat16);
  CHECK(values_of<uint16_t>(*b) == std::vector<uint16_t>{0x3F80, 0x4780, 0x3300, 0xC060});
  // back to float32 exactly
  CHECK(values_of<float>(*convert_tensor(h, DType::Float32)) == std::vector<float>{1.0f, INFINITY, 0.0f, -3.5f});
  // float64 -> float16 rounds twice, as torch: 1 + 2^-11 + 2^-40 -> float 1 + 2^-11 -> half tie -> 1
  auto d = tensor_of<double>(DType::Float64, {1.0 + 0x1.0p-11 + 0x1.0p-40}, {1});
  CHECK(values_of<uint16_t>(*convert_tensor(d, DType::Float16)) == std::vector<uint16_t>{0x3C00});
  // integer tensors are not converted
  auto i = tensor_of<int64_t>(DType::Int64, {3}, {1});
  CHECK(convert_tensor(i, DType::Float16) == i);
  // a transposed view is converted in its row-major order
  auto view = std::make_shared<Tensor>(*t);
  view->stride = {1, 2};
  CHECK(values_of<uint16_t>(*convert_tensor(view, DType::Float16)) == std::vector<uint16_t>{0x3C00, 0x0000, 0x7C00, 0xC300});
}

TEST_CASE("average_tensors accumulates in float64") {
  auto a = tensor_of<float>(DType::Float32, {1.0f, 0.1f, 16777216.0f}, {3});
  auto b = tensor_of<float>(DType::Float32, {2.0f, 0.2f, 1.0f}, {3});
  auto c = tensor_of<float>(DType::Float32, {4.0f, 0.3f, 1.0f}, {3});
  auto m = average_tensors({a, b, c});
  const auto v = values_of<float>(*m);
  CHECK(v[0] == Approx(7.0 / 3).epsilon(1e-7));
  CHECK(v[1] == float((double(0.1f) + double(0.2f) + double(0.3f)) / 3));
  CHECK(v[2] == float((16777216.0 + 2) / 3));   // float32 accumulation would lose the 1s
  CHECK_THROWS_AS(average_tensors({a, tensor_of<float>(DType::Float32, {1, 2}, {2})}), Error);
  CHECK_THROWS_AS(average_tensors({a, tensor_of<double>(DType::Float64, {1, 2, 3}, {3})}), Error);
}

TEST_CASE("adapt: ModelA checkpoint --like a ModelB template") {
  TempDir dir;
  write_checkpoint(dir.file("a.pth"), checkpoint(model_a(1)));
  write_checkpoint(dir.file("b.pth"), model_b());
  AdaptOptions o;
  o.input = dir.file("a.pth");
  o.like = dir.file("b.pth");
  SECTION("no_key_matching renames by position, keeps the other keys") {
    o.output = dir.file("out.pth");
    AdaptResult r = adapt(o);
    REQUIRE(r.ok);
    CHECK(r.match->by_position);
    Checkpoint c = read_checkpoint(o.output);
    CHECK(keys_of(c.root) == std::vector<std::string>{"net", "epoch", "acc", "optimizer_state_dict"});
    const Value& net = *c.root.as_dict().find("net");
    CHECK(keys_of(net) == keys_of(model_b()));
    const Value& a_net = model_a(1);
    CHECK(tensor_sha256(*net.as_dict().find("CONV2.0.weight")->as_tensor()) ==
          tensor_sha256(*a_net.as_dict().find("conv2.weight")->as_tensor()));
  }
  SECTION("on refuses and writes nothing") {
    o.output = dir.file("out.pth");
    o.strict = StrictMode::On;
    AdaptResult r = adapt(o);
    CHECK_FALSE(r.ok);
    CHECK(r.match->missing.size() == 2);
    CHECK(r.failure.find("2 missing, 2 unexpected") != std::string::npos);
    CHECK_FALSE(fs::exists(o.output));
  }
  SECTION("off keeps conv1 only; --weights-only drops the rest") {
    o.output = dir.file("out.pth");
    o.strict = StrictMode::Off;
    o.weights_only = true;
    REQUIRE(adapt(o).ok);
    Checkpoint c = read_checkpoint(o.output);
    CHECK(keys_of(c.root) == std::vector<std::string>{"net"});
    CHECK(keys_of(*c.root.as_dict().find("net")) == std::vector<std::string>{"conv1.weight", "conv1.bias"});
  }
}

TEST_CASE("adapt: --ema, prefixes, rename, drop, keep") {
  TempDir dir;
  AdaptOptions o = in_to_out(dir, checkpoint(model_a(1), model_a(2)));
  SECTION("--ema promotes ema_net") {
    o.ema = true;
    REQUIRE(adapt(o).ok);
    Checkpoint c = read_checkpoint(o.output);
    CHECK(c.root.as_dict().find("ema_net") == nullptr);
    CHECK(tensor_sha256(*c.root.as_dict().find("net")->as_dict().find("conv1.bias")->as_tensor()) ==
          tensor_sha256(*model_a(2).as_dict().find("conv1.bias")->as_tensor()));
  }
  SECTION("key edits apply to net and ema_net, in order") {
    o.strip_prefix = "conv";
    o.renames = {R"(^(\d)\.(weight|bias)$=layer$1.$2)"};
    o.drop = {"bias"};
    o.add_prefix = "module.";
    REQUIRE(adapt(o).ok);
    Checkpoint c = read_checkpoint(o.output);
    for (const char* which : {"net", "ema_net"})
      CHECK(keys_of(*c.root.as_dict().find(which)) == std::vector<std::string>{"module.layer1.weight", "module.layer2.weight"});
  }
  SECTION("--keep") {
    o.keep = {"^conv2\\."};
    REQUIRE(adapt(o).ok);
    CHECK(keys_of(*read_checkpoint(o.output).root.as_dict().find("net")) ==
          std::vector<std::string>{"conv2.weight", "conv2.bias"});
  }
  SECTION("errors name the file and the keys") {
    o.renames = {"^conv[12]=x"};
    CHECK(adapt_error(o).find("key edits give 'conv1.weight' and 'conv2.weight' the same name 'x.weight'") != std::string::npos);
    o.renames = {"([=oops"};
    CHECK(adapt_error(o).find("not a valid regular expression") != std::string::npos);
    o.renames = {};
    o.strip_prefix = "module.";
    CHECK(adapt_error(o).find("no key starts with --strip-prefix 'module.'") != std::string::npos);
    CHECK_FALSE(fs::exists(o.output));
  }
  SECTION("--ema without ema_net") {
    write_checkpoint(dir.file("plain.pth"), model_a());
    o.input = dir.file("plain.pth");
    o.ema = true;
    CHECK(adapt_error(o).find("no 'ema_net'") != std::string::npos);
  }
}

TEST_CASE("adapt: which weights, by SG's layout (None is absent)") {
  TempDir dir;
  AdaptOptions o;
  o.output = dir.file("out.pth");
  SECTION("a net that is None") {
    Value c = checkpoint(Value::none(), model_a());
    write_checkpoint(dir.file("in.pth"), c);
    o.input = dir.file("in.pth");
    CHECK(adapt_error(o) == dir.file("in.pth") + ": 'net' is a None, not a state dict");
    o.ema = true;
    CHECK(adapt(o).ok);
  }
  SECTION("ema_net without net") {
    Value c = checkpoint(model_a());
    c.as_dict().items.erase(c.as_dict().items.begin());
    c.as_dict().set("ema_net", model_a(2));
    write_checkpoint(dir.file("in.pth"), c);
    o.input = dir.file("in.pth");
    CHECK(adapt_error(o) == dir.file("in.pth") + ": has 'ema_net' but no 'net' (use --ema)");
    o.ema = true;
    REQUIRE(adapt(o).ok);
    CHECK(keys_of(read_checkpoint(o.output).root) == std::vector<std::string>{"net", "epoch", "acc", "optimizer_state_dict"});
  }
  SECTION("--ema: a checkpoint or a plain state dict without ema_net") {
    write_checkpoint(dir.file("in.pth"), checkpoint(model_a()));
    write_checkpoint(dir.file("plain.pth"), model_a());
    o.ema = true;
    o.input = dir.file("in.pth");
    CHECK(adapt_error(o) == dir.file("in.pth") + ": has no 'ema_net' (needed by --ema)");
    o.input = dir.file("plain.pth");
    CHECK(adapt_error(o) == dir.file("plain.pth") + ": is a plain state dict with no 'ema_net' (needed by --ema)");
  }
}

TEST_CASE("adapt: --model through make_model_template") {
  TempDir dir;
  write_checkpoint(dir.file("in.pth"), checkpoint(model_a()));
  AdaptOptions o;
  o.input = dir.file("in.pth");
  o.output = dir.file("out.pth");
  o.model = "model_b";
  o.num_classes = 10;
  std::string asked;
  o.make_model_template = [&asked](const std::string& arch, int64_t num_classes, const std::string& out_path) {
    asked = arch + " " + std::to_string(num_classes);
    write_checkpoint(out_path, model_b());
  };
  const AdaptResult r = adapt(o);
  REQUIRE(r.ok);
  CHECK(asked == "model_b 10");
  CHECK(r.template_path == "sg-model-template model_b 10");
  CHECK(keys_of(*read_checkpoint(o.output).root.as_dict().find("net")) == keys_of(model_b()));
  o.make_model_template = [](const std::string&, int64_t, const std::string&) { throw AdaptError("maker", "failed"); };
  o.force = true;
  CHECK(adapt_error(o) == "maker: failed");
}

TEST_CASE("adapt: refuses to overwrite without --force") {
  TempDir dir;
  AdaptOptions o = in_to_out(dir, model_a());
  o.output = o.input;
  CHECK(adapt_error(o).find("is an input file") != std::string::npos);
  { std::ofstream(dir.file("out.pth")) << "old"; }
  o.output = dir.file("out.pth");
  CHECK(adapt_error(o).find("exists") != std::string::npos);
  o.force = true;
  CHECK(adapt(o).ok);
  CHECK(read_checkpoint(o.output).root.as_dict().items.size() == 4);
  o.output = o.input;   // asked for: the input is replaced atomically
  CHECK(adapt(o).ok);
}

TEST_CASE("adapt: --model without sg-model-template") {
  TempDir dir;
  AdaptOptions o = in_to_out(dir, model_a());
  o.model = "resnet18";
  CHECK(adapt_error(o) == "--model needs sg-model-template (not built)");
}

TEST_CASE("adapt: --average, integer entries from the first file") {
  TempDir dir;
  for (int i = 0; i < 3; ++i) {
    Value net = model_a(float(i));
    net.as_dict().items.emplace_back(Value::string("bn.num_batches_tracked"),
                                     Value::tensor(tensor_of<int64_t>(DType::Int64, {100 + i}, {})));
    write_checkpoint(dir.file("c" + std::to_string(i) + ".pth"), checkpoint(net));
  }
  AdaptOptions o;
  o.average = {dir.file("c0.pth"), dir.file("c1.pth"), dir.file("c2.pth")};
  o.output = dir.file("avg.pth");
  REQUIRE(adapt(o).ok);
  Checkpoint c = read_checkpoint(o.output);
  CHECK(keys_of(c.root) == std::vector<std::string>{"net"});
  const Dict& net = c.root.as_dict().find("net")->as_dict();
  CHECK(values_of<int64_t>(*net.find("bn.num_batches_tracked")->as_tensor()) == std::vector<int64_t>{100});
  const auto bias = values_of<float>(*net.find("conv2.bias")->as_tensor());
  for (size_t i = 0; i < bias.size(); ++i) CHECK(bias[i] == Approx(2.0 + double(i)));

  SECTION("shapes and keys are checked") {
    auto with_counter = [&] {
      Value net = model_a();
      net.as_dict().items.emplace_back(Value::string("bn.num_batches_tracked"),
                                       Value::tensor(tensor_of<int64_t>(DType::Int64, {1}, {})));
      return net;
    };
    Value odd = with_counter();
    odd.as_dict().items[1].second = Value::tensor(tensor_of<float>(DType::Float32, std::vector<float>(7), {7}));
    write_checkpoint(dir.file("odd.pth"), checkpoint(odd));
    o.average = {dir.file("c0.pth"), dir.file("odd.pth")};
    o.output = dir.file("avg2.pth");
    const std::string why = adapt_error(o);
    INFO(why);
    CHECK(why.find("odd.pth: net: 'conv1.bias' has shape [7]") != std::string::npos);
    Value fewer = with_counter();
    fewer.as_dict().items.erase(fewer.as_dict().items.begin() + 3);
    write_checkpoint(dir.file("fewer.pth"), checkpoint(fewer));
    o.average = {dir.file("c0.pth"), dir.file("fewer.pth")};
    CHECK(adapt_error(o).find("has no key 'conv2.bias'") != std::string::npos);
  }
}

TEST_CASE("adapt: safetensors out and back, with scalar metadata") {
  TempDir dir;
  AdaptOptions o = in_to_out(dir, checkpoint(model_a(3)));
  o.output = dir.file("out.safetensors");
  o.dtype = DType::BFloat16;
  AdaptResult r = adapt(o);
  REQUIRE(r.ok);
  CHECK(r.converted == 4);
  SafetensorsFile st = read_safetensors(o.output);
  CHECK(st.metadata == StringPairs{{"format", "pt"}, {"epoch", "7"}, {"acc", "0.875"}});
  CHECK(keys_of(st.tensors) == keys_of(model_a()));
  // and back to .pth (a plain state dict), same hashes
  AdaptOptions back;
  back.input = o.output;
  back.output = dir.file("back.pth");
  REQUIRE(adapt(back).ok);
  Checkpoint c = read_checkpoint(back.output);
  for (size_t i = 0; i < 4; ++i) {
    const Tensor& t = *c.root.as_dict().items[i].second.as_tensor();
    CHECK(t.dtype == DType::BFloat16);
    CHECK(tensor_sha256(t) == tensor_sha256(*st.tensors.as_dict().items[i].second.as_tensor()));
  }
}
