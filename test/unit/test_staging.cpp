// pth::StagingBuffer: a copy of a value tree that no later change of the source reaches,
// in memory reused from one copy to the next.
#include <catch2/catch.hpp>

#include <cstring>

#include "pth/error.hpp"
#include "pth/staging.hpp"
#include "pth/tensor_data.hpp"

namespace {

float first_float(const pth::Tensor& t) {
  float f;
  std::memcpy(&f, t.storage->data->bytes().data + t.storage_offset * 4, 4);
  return f;
}

// Memory the test can change under a value, or mark as a private copy.
class Bytes : public pth::StorageData {
 public:
  Bytes(std::vector<float> values, bool snapshot) : values(std::move(values)), snapshot_(snapshot) {}
  pth::ByteView bytes() const override { return {values.data(), values.size() * sizeof(float)}; }
  bool is_snapshot() const override { return snapshot_; }
  std::vector<float> values;

 private:
  bool snapshot_;
};

std::shared_ptr<pth::Tensor> view_of(std::shared_ptr<pth::Storage> storage, int64_t offset, int64_t n) {
  auto t = std::make_shared<pth::Tensor>();
  t->shape = {n};
  t->stride = {1};
  t->storage_offset = offset;
  t->storage = std::move(storage);
  return t;
}

std::shared_ptr<pth::Storage> storage_over(std::shared_ptr<Bytes> data) {
  auto s = std::make_shared<pth::Storage>();
  s->numel = int64_t(data->values.size());
  s->data = std::move(data);
  return s;
}

}  // namespace

TEST_CASE("a staged value keeps the data of the moment it was staged") {
  auto live = std::make_shared<Bytes>(std::vector<float>{1, 2, 3, 4}, false);
  auto storage = storage_over(live);
  pth::Value root = pth::Value::dict();
  pth::Value net = pth::Value::dict(/*ordered=*/true);
  net.as_dict().set("a", pth::Value::tensor(view_of(storage, 0, 2)));
  net.as_dict().set("b", pth::Value::tensor(view_of(storage, 2, 2)));
  root.as_dict().set("net", net);
  root.as_dict().set("again", net);   // one sub-tree held twice
  root.as_dict().set("epoch", pth::Value::integer(3));

  pth::StagingBuffer buffer;
  const pth::Value staged = buffer.stage(root);
  live->values = {9, 9, 9, 9};   // training goes on

  const auto& a = *staged.as_dict().find("net")->as_dict().find("a")->as_tensor();
  const auto& b = *staged.as_dict().find("net")->as_dict().find("b")->as_tensor();
  CHECK(first_float(a) == 1);
  CHECK(first_float(b) == 3);
  CHECK(a.storage == b.storage);                // views of one storage stay views of one copy
  CHECK(a.storage != storage);
  CHECK(staged.as_dict().find("again")->identity() == staged.as_dict().find("net")->identity());
  CHECK(staged.as_dict().find("epoch")->as_int() == 3);
  CHECK(buffer.last_staged() == 64);            // 16 bytes, aligned
  // The source tree is untouched.
  CHECK(root.as_dict().find("net")->as_dict().find("a")->as_tensor()->storage == storage);
}

TEST_CASE("staging reuses its memory once the previous copy is let go, never while it is held") {
  auto live = std::make_shared<Bytes>(std::vector<float>(1000, 1.0f), false);
  const pth::Value root = pth::Value::tensor(view_of(storage_over(live), 0, 1000));
  pth::StagingBuffer buffer;
  const uint8_t* first_memory;
  {
    const pth::Value staged = buffer.stage(root);
    first_memory = staged.as_tensor()->storage->data->bytes().data;
    live->values.assign(1000, 2.0f);
    const pth::Value held_too = buffer.stage(root);   // the first copy is still held
    CHECK(held_too.as_tensor()->storage->data->bytes().data != first_memory);
    CHECK(first_float(*staged.as_tensor()) == 1);
    CHECK(first_float(*held_too.as_tensor()) == 2);
  }
  const uint64_t capacity = buffer.capacity();
  const pth::Value again = buffer.stage(root);
  CHECK(buffer.capacity() == capacity);
  CHECK(first_float(*again.as_tensor()) == 2);
}

TEST_CASE("staging keeps snapshot storages as they are and refuses a tensor without data") {
  auto copy = std::make_shared<Bytes>(std::vector<float>{5, 6}, true);
  auto storage = storage_over(copy);
  pth::StagingBuffer buffer;
  const pth::Value staged = buffer.stage(pth::Value::tensor(view_of(storage, 0, 2)));
  CHECK(staged.as_tensor()->storage == storage);
  CHECK(buffer.last_staged() == 0);

  auto empty = std::make_shared<pth::Storage>();
  pth::Value root = pth::Value::dict();
  root.as_dict().set("w", pth::Value::tensor(view_of(empty, 0, 0)));
  CHECK_THROWS_WITH(buffer.stage(root), Catch::Matchers::Contains("'w' has no data"));
}

TEST_CASE("a state over 16 MiB, copied on several threads, is staged byte for byte") {
  std::vector<std::shared_ptr<Bytes>> sources;
  pth::Value root = pth::Value::dict(/*ordered=*/true);
  for (int i = 0; i < 6; ++i) {
    std::vector<float> values(size_t(1 + i) << 20);   // 4 to 24 MiB each
    for (size_t k = 0; k < values.size(); ++k) values[k] = float(i * 1000003 + k % 65521);
    sources.push_back(std::make_shared<Bytes>(std::move(values), false));
    root.as_dict().set("t" + std::to_string(i),
                       pth::Value::tensor(view_of(storage_over(sources.back()), 0, int64_t(sources.back()->values.size()))));
  }
  pth::StagingBuffer buffer;
  const pth::Value staged = buffer.stage(root);
  for (int i = 0; i < 6; ++i) {
    const pth::ByteView copy = staged.as_dict().find("t" + std::to_string(i))->as_tensor()->storage->data->bytes();
    const pth::ByteView original = sources[i]->bytes();
    REQUIRE(copy.size == original.size);
    CHECK(copy.data != original.data);
    CHECK(std::memcmp(copy.data, original.data, copy.size) == 0);
  }
}
