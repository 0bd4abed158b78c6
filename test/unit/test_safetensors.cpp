#include <catch2/catch.hpp>

#include <cstring>
#include <fstream>

#include "pth/error.hpp"
#include "pth/safetensors.hpp"
#include "pth/tensor_data.hpp"
#include "memory_tensor.hpp"
#include "temp_dir.hpp"

using namespace pth;

namespace {

// A file image: 8-byte length, header (as given, unpadded), data.
std::string image(const std::string& header, const std::string& data, uint64_t claimed = ~uint64_t(0)) {
  const uint64_t n = claimed == ~uint64_t(0) ? header.size() : claimed;
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[size_t(i)] = char(uint8_t(n >> (8 * i)));
  return out + header + data;
}

SafetensorsFile parse(const std::string& bytes) {
  auto owner = std::make_shared<std::string>(bytes);
  return parse_safetensors(ByteView(owner->data(), owner->size()), owner);
}

std::string parse_error(const std::string& bytes) {
  try {
    parse(bytes);
  } catch (const FormatError& e) {
    const std::string what = e.what();
    CHECK(what.find('\n') == std::string::npos);
    return what;
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("dtype names") {
  CHECK(safetensors_dtype_name(DType::BFloat16) == "BF16");
  CHECK(safetensors_dtype_name(DType::Bool) == "BOOL");
  CHECK_FALSE(safetensors_dtype_name(DType::Complex128));
  CHECK(dtype_from_safetensors_name("I64") == DType::Int64);
  CHECK_FALSE(dtype_from_safetensors_name("U16"));
}

TEST_CASE("write and read back: order, dtypes, shapes, metadata, views, alignment") {
  TempDir dir;
  const std::string path = dir.file("m.safetensors");
  auto w = tensor_of<float>(DType::Float32, {1, 2, 3, 4, 5, 6}, {2, 3});
  // A transposed view (non-contiguous): written in row-major order of the view.
  auto wt = std::make_shared<Tensor>(*w);
  wt->shape = {3, 2};
  wt->stride = {1, 3};
  auto idx = tensor_of<int64_t>(DType::Int64, {7, -8, 9}, {3});
  auto flags = tensor_of<uint8_t>(DType::Bool, {1, 0}, {2});
  auto half = tensor_of<uint16_t>(DType::Float16, {0x3C00, 0xC000, 0x7C00}, {3});
  auto scalar = tensor_of<double>(DType::Float64, {2.5}, {});
  auto empty = tensor_of<float>(DType::Float32, {}, {0, 4});
  std::vector<NamedTensor> tensors = {{"z.weight", w},   {"a.transposed", wt}, {"idx", idx},
                                      {"flags", flags}, {"half", half},       {"scalar", scalar}, {"empty", empty}};
  write_safetensors(path, tensors, {{"epoch", "3"}, {"acc", "0.75"}});

  const std::string header = safetensors_header(tensors, {{"epoch", "3"}, {"acc", "0.75"}});
  CHECK(header.size() % 8 == 0);

  SafetensorsFile f = read_safetensors(path);
  CHECK(f.metadata == StringPairs{{"epoch", "3"}, {"acc", "0.75"}});
  const Dict& d = f.tensors.as_dict();
  REQUIRE(d.items.size() == tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    INFO(tensors[i].name);
    CHECK(d.items[i].first.as_string() == tensors[i].name);   // written order kept
    const Tensor& got = *d.items[i].second.as_tensor();
    CHECK(got.dtype == tensors[i].tensor->dtype);
    CHECK(got.shape == tensors[i].tensor->shape);
    CHECK(tensor_sha256(got) == tensor_sha256(*tensors[i].tensor));
  }
  std::vector<float> t(6);
  copy_elements(*d.items[1].second.as_tensor(), t.data());
  CHECK(t == std::vector<float>{1, 4, 2, 5, 3, 6});
  // The data buffer starts on an 8-byte boundary.
  std::ifstream in(path, std::ios::binary);
  char len[8];
  in.read(len, 8);
  uint64_t n = load_le64(reinterpret_cast<const uint8_t*>(len));
  CHECK(n % 8 == 0);
}

TEST_CASE("a header other writers make: keys out of data order, no metadata") {
  float a[2] = {1, 2};
  float b[1] = {3};
  std::string data(reinterpret_cast<const char*>(b), 4);
  data += std::string(reinterpret_cast<const char*>(a), 8);
  SafetensorsFile f = parse(image(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"b":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}  )", data));
  const Dict& d = f.tensors.as_dict();
  REQUIRE(d.items.size() == 2);
  CHECK(d.items[0].first.as_string() == "b");   // in data order
  CHECK(d.items[1].first.as_string() == "a");
  CHECK(f.metadata.empty());
}

TEST_CASE("malformed headers are refused with one line") {
  const std::string f32x2 = R"("dtype":"F32","shape":[2])";
  const std::string eight(8, '\0');
  SECTION("file too short") { CHECK(parse_error("abc").find("too short") != std::string::npos); }
  SECTION("header length past the end of the file") {
    CHECK(parse_error(image("{}", "", 4096)).find("runs past the end of the file") != std::string::npos);
    CHECK(parse_error(image("{}", "", ~uint64_t(0) - 1)).find("runs past the end") != std::string::npos);
  }
  SECTION("bad JSON") {
    CHECK(parse_error(image(R"({"a": {"dtype": "F32", )", "")).find("not valid JSON") != std::string::npos);
    CHECK(parse_error(image("{\"a\": nope}", "")).find("not valid JSON") != std::string::npos);
  }
  SECTION("not an object") { CHECK(parse_error(image("[1, 2]", "")).find("does not start with '{'") != std::string::npos); }
  SECTION("unknown and unsupported dtypes") {
    CHECK(parse_error(image(R"({"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}})", eight)).find("unknown dtype 'F33'") != std::string::npos);
    CHECK(parse_error(image(R"({"a":{"dtype":"U16","shape":[4],"data_offsets":[0,8]}})", eight)).find("not supported") != std::string::npos);
  }
  SECTION("overlapping offsets") {
    const std::string h = "{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]},\"b\":{" + f32x2 + ",\"data_offsets\":[4,12]}}";
    const std::string why = parse_error(image(h, std::string(12, '\0')));
    CHECK(why.find("overlap") != std::string::npos);
    CHECK(why.find("'a'") != std::string::npos);
    CHECK(why.find("'b'") != std::string::npos);
  }
  SECTION("offsets out of order, outside the buffer, gaps, trailing bytes") {
    CHECK(parse_error(image("{\"a\":{" + f32x2 + ",\"data_offsets\":[8,0]}}", eight)).find("out of order") != std::string::npos);
    CHECK(parse_error(image("{\"a\":{" + f32x2 + ",\"data_offsets\":[8,16]}}", eight)).find("outside the data buffer") != std::string::npos);
    CHECK(parse_error(image("{\"a\":{" + f32x2 + ",\"data_offsets\":[4,12]}}", std::string(12, '\0'))).find("gap") != std::string::npos);
    CHECK(parse_error(image("{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]}}", std::string(12, '\0'))).find("after the last tensor") != std::string::npos);
  }
  SECTION("size other than numel * itemsize") {
    CHECK(parse_error(image(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", eight)).find("needs 12") != std::string::npos);
    CHECK(parse_error(image(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", eight)).find("2^64") != std::string::npos);
  }
  SECTION("duplicate names") {
    const std::string h = "{\"a\":{" + f32x2 + ",\"data_offsets\":[0,8]},\"a\":{" + f32x2 + ",\"data_offsets\":[8,16]}}";
    CHECK(parse_error(image(h, std::string(16, '\0'))).find("names 'a' twice") != std::string::npos);
  }
  SECTION("bad fields") {
    CHECK(parse_error(image(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", eight)).find("non-negative") != std::string::npos);
    CHECK(parse_error(image(R"({"a":{"dtype":"F32","shape":[2]}})", eight)).find("data_offsets") != std::string::npos);
    CHECK(parse_error(image(R"({"__metadata__":{"epoch":3}})", "")).find("not a string") != std::string::npos);
  }
}

TEST_CASE("looks_like_safetensors tells safetensors from zip and pickle") {
  const std::string st = image("{}", "");
  CHECK(looks_like_safetensors(ByteView(st.data(), st.size()), st.size()));
  const std::string zip = "PK\x03\x04rest of a zip file";
  CHECK_FALSE(looks_like_safetensors(ByteView(zip.data(), zip.size()), zip.size()));
  const std::string pickle = "\x80\x02\x8a\x0alegacy torch file";
  CHECK_FALSE(looks_like_safetensors(ByteView(pickle.data(), pickle.size()), pickle.size()));
}

TEST_CASE("the writer refuses what safetensors cannot hold") {
  TempDir dir;
  auto c = tensor_of<double>(DType::Complex128, {1, 2}, {1});
  CHECK_THROWS_AS(write_safetensors(dir.file("c.safetensors"), {{"c", c}}), Error);
  auto f = tensor_of<float>(DType::Float32, {1}, {1});
  CHECK_THROWS_AS(write_safetensors(dir.file("d.safetensors"), {{"x", f}, {"x", f}}), Error);
  CHECK_FALSE(std::filesystem::exists(dir.file("c.safetensors")));
  CHECK_FALSE(std::filesystem::exists(dir.file("d.safetensors")));
}
