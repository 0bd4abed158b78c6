#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <numeric>

#include "pth/checkpoint.hpp"
#include "pth/error.hpp"
#include "pth/tensor_data.hpp"
#include "pth/tensor_walk.hpp"
#include "temp_dir.hpp"

using namespace pth;
namespace fs = std::filesystem;

namespace {

template <typename T>
std::shared_ptr<Storage> storage_of(DType dtype, std::vector<T> values) {
  auto owner = std::make_shared<std::vector<T>>(std::move(values));
  auto s = std::make_shared<Storage>();
  s->dtype = dtype;
  s->numel = int64_t(owner->size());
  s->data = std::make_shared<MemoryStorageData>(ByteView(owner->data(), owner->size() * sizeof(T)), owner);
  return s;
}

Value tensor_value(std::shared_ptr<Storage> s, std::vector<int64_t> shape, int64_t offset = 0) {
  auto t = std::make_shared<Tensor>();
  t->dtype = s->dtype;
  t->storage = std::move(s);
  t->stride = Tensor::contiguous_strides(shape);
  t->shape = std::move(shape);
  t->storage_offset = offset;
  return Value::tensor(t);
}

// An SG-shaped checkpoint: a state dict with a shared storage, a parameter, scalars.
Value sample_checkpoint() {
  std::vector<float> weights(24);
  std::iota(weights.begin(), weights.end(), 0.5f);
  auto shared = storage_of(DType::Float32, weights);
  Value net = Value::dict(true);
  net.as_dict().set("conv.weight", tensor_value(shared, {2, 3, 4}));
  net.as_dict().set("conv.view", tensor_value(shared, {4}, 8));
  net.as_dict().set("bn.num_batches_tracked", tensor_value(storage_of<int64_t>(DType::Int64, {7}), {}));
  Value metadata = Value::dict(true);
  metadata.as_dict().set("", Value::dict());
  metadata.as_dict().items[0].second.as_dict().set("version", Value::integer(1));
  net.as_dict().metadata = std::make_shared<Value>(metadata);

  Value param = tensor_value(storage_of<uint16_t>(DType::BFloat16, {0x3f80, 0xc040}), {2});
  param.as_tensor()->is_parameter = true;
  param.as_tensor()->requires_grad = true;

  Value root = Value::dict();
  root.as_dict().set("net", net);
  root.as_dict().set("acc", Value::floating(0.875));
  root.as_dict().set("epoch", Value::integer(3));
  root.as_dict().set("param", param);
  root.as_dict().set("names", Value::tuple({Value::string("ключ"), Value::none(), Value::boolean(true)}));
  return root;
}

void write_text(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

}  // namespace

TEST_CASE("a written checkpoint reads back with the same tree, sharing and data") {
  TempDir dir;
  const std::string path = dir.file("best model.pth");
  Value root = sample_checkpoint();
  write_checkpoint(path, root);

  Checkpoint c = read_checkpoint(path);
  CHECK(c.format == CheckpointFormat::Zip);
  CHECK(c.root_name == "best model");
  CHECK(c.version == 3);
  CHECK(c.storages.size() == 3);
  REQUIRE(c.root.is_dict());
  CHECK(c.root.as_dict().find("acc")->as_number() == 0.875);
  CHECK(c.root.as_dict().find("epoch")->as_int() == 3);
  CHECK(c.root.as_dict().find("names")->items()[0].as_string() == "ключ");
  const Dict& net = c.root.as_dict().find("net")->as_dict();
  CHECK(net.ordered);
  REQUIRE(net.metadata);
  CHECK(net.metadata->as_dict().items[0].second.as_dict().find("version")->as_int() == 1);

  auto before = collect_tensors(root), after = collect_tensors(c.root);
  REQUIRE(before.size() == after.size());
  for (size_t i = 0; i < before.size(); ++i) {
    CHECK(after[i].path == before[i].path);
    CHECK(after[i].tensor->dtype == before[i].tensor->dtype);
    CHECK(after[i].tensor->shape == before[i].tensor->shape);
    CHECK(after[i].tensor->storage_offset == before[i].tensor->storage_offset);
    CHECK(tensor_sha256(*after[i].tensor) == tensor_sha256(*before[i].tensor));
  }
  CHECK(after[0].tensor->storage == after[1].tensor->storage);
  // copy_elements reads the file (pread) and gives the same bytes as the mapping.
  for (const auto& [tensor_path, t] : after) {
    std::vector<uint8_t> copied(t->nbytes()), mapped;
    copy_elements(*t, copied.data());
    for_each_run(*t, [&](ByteView run) { mapped.insert(mapped.end(), run.data, run.data + run.size); });
    CHECK(copied == mapped);
  }
  CHECK(after[3].tensor->is_parameter);
  CHECK(after[3].tensor->requires_grad);
  CHECK(verify_checkpoint(c).empty());
}

TEST_CASE("storage records are 64-byte aligned in the written zip") {
  TempDir dir;
  const std::string path = dir.file("aligned.pth");
  write_checkpoint(path, sample_checkpoint());
  Checkpoint c = read_checkpoint(path);
  int records = 0;
  for (const ZipEntry& e : c.zip->entries()) {
    if (e.name.find("/data/") == std::string::npos) continue;
    ++records;
    CHECK(e.method == 0);
    CHECK(e.data_offset % 64 == 0);
  }
  CHECK(records == 3);
}

TEST_CASE("a failed write leaves the previous file and no temp file") {
  TempDir dir;
  const std::string path = dir.file("ckpt_latest.pth");
  write_checkpoint(path, sample_checkpoint());
  const auto size_before = fs::file_size(path);

  // A storage that claims more elements than its data holds cannot be written.
  auto broken = std::make_shared<Storage>(*storage_of(DType::Float32, std::vector<float>{1, 2}));
  broken->numel = 1000;
  Value root = Value::dict();
  root.as_dict().set("w", tensor_value(broken, {1000}));
  CHECK_THROWS_AS(write_checkpoint(path, root), Error);

  CHECK(fs::file_size(path) == size_before);
  CHECK(read_checkpoint(path).root.as_dict().find("epoch")->as_int() == 3);
  CHECK(names_in(dir.path()).size() == 1);
}

TEST_CASE("files that are not checkpoints get a reason, not a crash") {
  TempDir dir;
  write_text(dir.file("empty.pth"), "");
  write_text(dir.file("lfs.pth"), "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 12\n");
  write_text(dir.file("text.pth"), "hello world\n");
  write_text(dir.file("binary.pth"), std::string("\x01\x02\x03\xff\xfe", 5));
  CHECK_THROWS_WITH(read_checkpoint(dir.file("empty.pth")), Catch::Contains("empty file"));
  CHECK_THROWS_WITH(read_checkpoint(dir.file("lfs.pth")), Catch::Contains("git-lfs pointer"));
  CHECK_THROWS_WITH(read_checkpoint(dir.file("text.pth")), Catch::Contains("text"));
  CHECK_THROWS_AS(read_checkpoint(dir.file("binary.pth")), FormatError);
  CHECK_THROWS_AS(read_checkpoint(dir.file("missing.pth")), Error);
}

TEST_CASE("a truncated checkpoint is refused at every cut") {
  TempDir dir;
  const std::string path = dir.file("full.pth");
  write_checkpoint(path, sample_checkpoint());
  std::ifstream in(path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int refused = 0;
  for (size_t cut = 1; cut < bytes.size(); cut += 7) {
    write_text(dir.file("cut.pth"), bytes.substr(0, cut));
    try {
      read_checkpoint(dir.file("cut.pth"));
    } catch (const FormatError&) {
      ++refused;
      continue;
    }
    FAIL("a file cut at " << cut << " of " << bytes.size() << " bytes was accepted");
  }
  CHECK(refused > 10);
}
