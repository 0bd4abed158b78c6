#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <numeric>

#include "pth/error.hpp"
#include "pth/sha256.hpp"
#include "pth/tensor_data.hpp"

using namespace pth;

namespace {

std::shared_ptr<Storage> float_storage(std::vector<float> values) {
  auto owner = std::make_shared<std::vector<float>>(std::move(values));
  auto s = std::make_shared<Storage>();
  s->dtype = DType::Float32;
  s->numel = int64_t(owner->size());
  s->data = std::make_shared<MemoryStorageData>(ByteView(owner->data(), owner->size() * 4), owner);
  return s;
}

Tensor view(std::shared_ptr<Storage> s, std::vector<int64_t> shape, std::vector<int64_t> stride, int64_t offset = 0) {
  Tensor t;
  t.dtype = s->dtype;
  t.storage = std::move(s);
  t.shape = std::move(shape);
  t.stride = std::move(stride);
  t.storage_offset = offset;
  return t;
}

std::string sha_of(const std::vector<float>& v) {
  Sha256 sha;
  sha.update(ByteView(v.data(), v.size() * 4));
  return sha.finish_hex();
}

}  // namespace

TEST_CASE("SHA-256 of known inputs") {
  Sha256 empty;
  CHECK(empty.finish_hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  Sha256 abc;
  abc.update(ByteView("abc", 3));
  CHECK(abc.finish_hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("hash of a strided view equals the hash of its row-major copy") {
  std::vector<float> data(12);
  std::iota(data.begin(), data.end(), 0.f);
  auto s = float_storage(data);
  // 3x4 matrix transposed: a 4x3 view with strides (1, 4).
  Tensor t = view(s, {4, 3}, {1, 4});
  std::vector<float> expected;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) expected.push_back(data[size_t(j * 4 + i)]);
  CHECK(tensor_sha256(t) == sha_of(expected));

  // A slice with an offset: rows 1..2 of the 3x4 matrix.
  Tensor rows = view(s, {2, 4}, {4, 1}, 4);
  CHECK(tensor_sha256(rows) == sha_of(std::vector<float>(data.begin() + 4, data.end())));

  // Every other element (step 2).
  Tensor stepped = view(s, {6}, {2});
  CHECK(tensor_sha256(stepped) == sha_of({0, 2, 4, 6, 8, 10}));
}

TEST_CASE("copy_elements writes a strided view in row-major order") {
  std::vector<float> data(6);
  std::iota(data.begin(), data.end(), 0.f);
  std::vector<float> out(6, -1.f);
  copy_elements(view(float_storage(data), {3, 2}, {1, 3}), out.data());
  CHECK(out == std::vector<float>{0, 3, 1, 4, 2, 5});
  std::vector<float> slice(2, -1.f);
  copy_elements(view(float_storage(data), {2}, {1}, 4), slice.data());
  CHECK(slice == std::vector<float>{4, 5});
}

TEST_CASE("a view reaching outside its storage data is refused, not read") {
  auto s = float_storage({1, 2, 3});
  Tensor t = view(s, {4}, {1});
  CHECK_THROWS_AS(tensor_sha256(t), FormatError);
}

TEST_CASE("stats count NaN and Inf and summarise the finite values") {
  auto s = float_storage({1.f, NAN, 3.f, INFINITY, -INFINITY, -2.f});
  TensorStats st = tensor_stats(view(s, {6}, {1}));
  CHECK(st.count == 6);
  CHECK(st.nan == 1);
  CHECK(st.inf == 2);
  CHECK(st.min == -2.0);
  CHECK(st.max == 3.0);
  CHECK(st.mean.value() == Approx(2.0 / 3.0));
}

TEST_CASE("stats of a tensor without a finite element have no min, max or mean") {
  for (std::vector<float> values : {std::vector<float>{NAN, NAN, NAN}, std::vector<float>{INFINITY, NAN, -INFINITY},
                                    std::vector<float>{}}) {
    auto s = float_storage(values);
    TensorStats st = tensor_stats(view(s, {int64_t(values.size())}, {1}));
    CHECK(st.count == values.size());
    CHECK(st.nan + st.inf == values.size());
    CHECK_FALSE(st.min);
    CHECK_FALSE(st.max);
    CHECK_FALSE(st.mean);
  }
  auto one = float_storage({NAN, -0.5f, INFINITY});
  TensorStats st = tensor_stats(view(one, {3}, {1}));
  CHECK(st.min == -0.5);
  CHECK(st.max == -0.5);
  CHECK(st.mean == -0.5);
}

TEST_CASE("half and bfloat16 decode") {
  CHECK(half_to_double(0x3c00) == 1.0);
  CHECK(half_to_double(0xc000) == -2.0);
  CHECK(half_to_double(0x0001) == std::ldexp(1.0, -24));
  CHECK(std::isinf(half_to_double(0x7c00)));
  CHECK(std::isnan(half_to_double(0x7e00)));
  CHECK(bfloat16_to_double(0x3f80) == 1.0);
  CHECK(bfloat16_to_double(0xc040) == -3.0);
}

TEST_CASE("element streams read strided views in row-major order") {
  std::vector<float> data(6);
  std::iota(data.begin(), data.end(), 0.f);
  Tensor t = view(float_storage(data), {3, 2}, {1, 3});
  ElementStream stream(t);
  std::vector<double> out(10);
  REQUIRE(stream.read(out.data(), 4) == 4);
  REQUIRE(stream.read(out.data() + 4, 6) == 2);
  CHECK(stream.read(out.data(), 1) == 0);
  CHECK(std::vector<double>(out.begin(), out.begin() + 6) == std::vector<double>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("copy_elements of many tensors over 16 MiB fills every destination") {
  std::vector<Tensor> tensors;
  std::vector<std::vector<float>> out;
  for (int i = 0; i < 5; ++i) {
    std::vector<float> values(size_t(1 + i) << 20);
    std::iota(values.begin(), values.end(), float(i));
    const int64_t n = int64_t(values.size());
    tensors.push_back(view(float_storage(std::move(values)), {n}, {1}));
    out.emplace_back(size_t(n), -1.0f);
  }
  std::vector<ElementCopy> copies;
  for (int i = 0; i < 5; ++i) copies.push_back({&tensors[i], out[i].data()});
  copy_elements(copies);
  for (int i = 0; i < 5; ++i) {
    CHECK(out[i].front() == float(i));
    CHECK(std::memcmp(out[i].data(), tensors[i].storage->data->bytes().data, out[i].size() * 4) == 0);
  }
}
