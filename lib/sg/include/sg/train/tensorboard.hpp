#pragma once
// TensorBoard event files (events.out.tfevents.*) with scalar summaries: TFRecord
// framing with masked CRC-32C, Event/Summary protobufs encoded by hand.
#include <cstdint>
#include <string>

#include "pth/folder.hpp"
#include "sg/train/append_file.hpp"

namespace sg {

class TensorBoardWriter {
 public:
  // Creates events.out.tfevents.<unix time>.<host>.<pid>.<n> in `dir` (a new file, never
  // through a link) and writes the version event. Throws RunWriteError.
  explicit TensorBoardWriter(const pth::Folder& dir);

  void add_scalar(const std::string& tag, double value, int64_t step);
  // Writes the events added since the last flush as one append: a full disk leaves the
  // file ending on a whole record (RunWriteError).
  void flush();
  const std::string& path() const { return file_.path(); }

 private:
  void add_record(const std::string& event);
  AppendFile file_;
  std::string pending_;   // framed records not written yet
};

uint32_t crc32c(const void* data, size_t size);

}  // namespace sg
