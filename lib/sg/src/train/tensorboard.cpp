#include "sg/train/tensorboard.hpp"

#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>

namespace sg {
namespace {

std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0x82F63B78u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

uint32_t masked_crc(const void* data, size_t size) {
  const uint32_t crc = crc32c(data, size);
  return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

// Protobuf wire format: just what Event and Summary need.
void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += char((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += char(v);
}

template <typename T>
void put_fixed(std::string& out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));  // little-endian host, as the wire format wants
  out.append(bytes, sizeof(T));
}

void put_bytes_field(std::string& out, int field, const std::string& bytes) {
  put_varint(out, uint64_t(field) << 3 | 2);
  put_varint(out, bytes.size());
  out += bytes;
}

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string event_header(double wall_time, int64_t step) {
  std::string e;
  put_varint(e, 1 << 3 | 1);  // wall_time: double
  put_fixed(e, wall_time);
  put_varint(e, 2 << 3 | 0);  // step: int64
  put_varint(e, uint64_t(step));
  return e;
}

std::string events_file_name() {
  static std::atomic<unsigned> counter{0};
  char host[256] = "localhost";
  gethostname(host, sizeof host - 1);
  return "events.out.tfevents." + std::to_string(int64_t(unix_seconds())) + "." + host + "." +
         std::to_string(getpid()) + "." + std::to_string(counter.fetch_add(1));
}

}  // namespace

uint32_t crc32c(const void* data, size_t size) {
  static const std::array<uint32_t, 256> table = make_crc32c_table();
  uint32_t c = 0xffffffffu;
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

TensorBoardWriter::TensorBoardWriter(const pth::Folder& dir)
    : file_(dir, events_file_name(), AppendFile::Mode::CreateNew) {
  std::string version = event_header(unix_seconds(), 0);
  put_bytes_field(version, 3, "brain.Event:2");  // file_version
  add_record(version);
  flush();
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  std::string summary_value;
  put_bytes_field(summary_value, 1, tag);  // Summary.Value.tag
  put_varint(summary_value, 2 << 3 | 5);   // Summary.Value.simple_value: float
  put_fixed(summary_value, float(value));
  std::string summary;
  put_bytes_field(summary, 1, summary_value);  // Summary.value
  std::string event = event_header(unix_seconds(), step);
  put_bytes_field(event, 5, summary);  // Event.summary
  add_record(event);
}

void TensorBoardWriter::add_record(const std::string& event) {
  put_fixed(pending_, uint64_t(event.size()));
  put_fixed(pending_, masked_crc(pending_.data() + pending_.size() - 8, 8));
  pending_ += event;
  put_fixed(pending_, masked_crc(event.data(), event.size()));
}

void TensorBoardWriter::flush() {
  if (pending_.empty()) return;
  file_.append(pending_);
  pending_.clear();
}

}  // namespace sg
