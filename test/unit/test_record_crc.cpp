// The CRC of a checkpoint's records, checked as their data is used: data.pkl when the
// file is read, each storage record once, when its data is first used.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <numeric>

#include "memory_tensor.hpp"
#include "pth/checkpoint.hpp"
#include "pth/error.hpp"
#include "pth/tensor_data.hpp"
#include "pth/tensor_walk.hpp"
#include "temp_dir.hpp"

using namespace pth;

namespace {

// "whole" covers storage 0 entirely and "tail" views its second half; "other" is storage 1.
Value sample() {
  std::vector<float> values(4096);
  std::iota(values.begin(), values.end(), 1.0f);
  auto whole = tensor_of(DType::Float32, values, {64, 64});
  auto tail = std::make_shared<Tensor>(*whole);
  tail->shape = {2048};
  tail->stride = {1};
  tail->storage_offset = 2048;
  Value root = Value::dict(true);
  root.as_dict().set("whole", Value::tensor(whole));
  root.as_dict().set("tail", Value::tensor(tail));
  root.as_dict().set("other", Value::tensor(tensor_of<int64_t>(DType::Int64, {1, 2, 3}, {3})));
  return root;
}

const Tensor& tensor(const Checkpoint& c, const std::string& name) { return *c.root.as_dict().find(name)->as_tensor(); }

// Flips one byte of a record's data in the file, in place, keeping its size and time.
void flip_byte(const std::string& path, const std::string& record, uint64_t at) {
  uint64_t offset = 0;
  {
    const Checkpoint c = read_checkpoint(path);
    const ZipEntry* e = c.zip->find(c.root_name + "/" + record);
    REQUIRE(e != nullptr);
    REQUIRE(at < e->uncompressed_size);
    offset = e->data_offset + at;
  }
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  const int fd = ::open(path.c_str(), O_RDWR);
  REQUIRE(fd >= 0);
  uint8_t b = 0;
  REQUIRE(::pread(fd, &b, 1, off_t(offset)) == 1);
  b ^= 0x20;
  REQUIRE(::pwrite(fd, &b, 1, off_t(offset)) == 1);
  const struct timespec times[2] = {st.st_atim, st.st_mtim};
  REQUIRE(::futimens(fd, times) == 0);
  ::close(fd);
}

// "<file>: <message>" of the pth::FileDataError that f throws.
std::string data_error(const std::function<void()>& f) {
  return error_message<FileDataError>(f, [](const FileDataError& e) { return e.file() + ": " + e.what(); });
}

std::vector<uint8_t> copied(const Tensor& t) {
  std::vector<uint8_t> out(t.nbytes());
  copy_elements(t, out.data());
  return out;
}

}  // namespace

TEST_CASE("a flipped byte in a storage record fails the first use of its data, naming the file and record") {
  TempDir dir;
  const std::string path = dir.file("model.pth");
  write_checkpoint(path, sample());
  flip_byte(path, "data/0", 5000);
  const std::string mismatch = path + ": CRC mismatch in record 'model/data/0'";

  const Checkpoint a = read_checkpoint(path);   // the structure and data.pkl are intact
  CHECK(data_error([&] { copied(tensor(a, "whole")); }) == mismatch);   // pread into memory
  const Checkpoint b = read_checkpoint(path);
  CHECK(data_error([&] { tensor_sha256(tensor(b, "whole")); }) == mismatch);   // in place
  const Checkpoint c = read_checkpoint(path);
  CHECK(data_error([&] { copied(tensor(c, "tail")); }) == mismatch);   // a part of the record
  CHECK(copied(tensor(c, "other")).size() == 24);   // other records are fine
}

TEST_CASE("a storage record is checked once: a whole copy checks it over the bytes it copied") {
  TempDir dir;
  const std::string path = dir.file("model.pth");
  write_checkpoint(path, sample());
  const Checkpoint c = read_checkpoint(path);
  const std::vector<uint8_t> before = copied(tensor(c, "whole"));
  // Corrupted after the check: the record is not read again for its CRC, so its later uses
  // see the new bytes without an error (the check is of what was read the first time).
  flip_byte(path, "data/0", 10);
  CHECK_NOTHROW(tensor_sha256(tensor(c, "whole")));
  CHECK_NOTHROW(copied(tensor(c, "tail")));
  CHECK(copied(tensor(c, "whole")) != before);
}

TEST_CASE("a flipped byte in data.pkl fails read_checkpoint") {
  TempDir dir;
  const std::string path = dir.file("model.pth");
  write_checkpoint(path, sample());
  flip_byte(path, "data.pkl", 20);
  CHECK(data_error([&] { read_checkpoint(path); }) == path + ": CRC mismatch in record 'model/data.pkl'");
}

TEST_CASE("a checkpoint that shrinks after it was read reports the change, never reads past it") {
  TempDir dir;
  const std::string path = dir.file("model.pth");
  write_checkpoint(path, sample());
  const Checkpoint c = read_checkpoint(path);
  const ZipEntry* record = c.zip->find("model/data/0");
  REQUIRE(record != nullptr);
  REQUIRE(::truncate(path.c_str(), off_t(record->data_offset + 100)) == 0);
  CHECK(data_error([&] { copied(tensor(c, "whole")); }) == path + ": the file changed while it was being read");
}

TEST_CASE("a checkpoint that grows after it was read is read as it was") {
  TempDir dir;
  const std::string path = dir.file("model.pth");
  write_checkpoint(path, sample());
  const Checkpoint c = read_checkpoint(path);
  const size_t size = c.file->view().size;
  {
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND);
    REQUIRE(fd >= 0);
    const std::vector<uint8_t> more(100000, 0xAB);
    REQUIRE(::write(fd, more.data(), more.size()) == ssize_t(more.size()));
    ::close(fd);
  }
  CHECK(c.file->view().size == size);
  CHECK(tensor_sha256(tensor(c, "whole")) == tensor_sha256(*sample().as_dict().find("whole")->as_tensor()));
  CHECK(copied(tensor(c, "other")).size() == 24);
}
