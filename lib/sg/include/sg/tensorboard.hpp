#pragma once
// TensorBoard event files (events.out.tfevents.*) with scalar summaries: TFRecord
// framing with masked CRC-32C, Event/Summary protobufs encoded by hand.
#include <cstdint>
#include <cstdio>
#include <string>

namespace sg {

class TensorBoardWriter {
 public:
  // Creates <dir>/events.out.tfevents.<unix time>.<host> and writes the version event.
  explicit TensorBoardWriter(const std::string& dir);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  void add_scalar(const std::string& tag, double value, int64_t step);
  void flush();
  const std::string& path() const { return path_; }

 private:
  void write_record(const std::string& event);
  std::string path_;
  std::FILE* file_ = nullptr;
};

uint32_t crc32c(const void* data, size_t size);

}  // namespace sg
