#pragma once
// File arguments that may be remote: an rclone remote (name:path), s3://bucket/key, or an
// http(s):// address to read. The readers and writers take local files; this brings remote
// inputs to local disk first and sends outputs to their remote place after.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "pth/temporary_folder.hpp"
#include "remote/local_copy.hpp"
#include "remote/location.hpp"

namespace remote {

class FileArguments {
 public:
  // The local file to read for `given`: itself, or a downloaded copy. Throws
  // RemoteError or std::invalid_argument (a bad location), one line each.
  std::string readable(const std::string& given);
  // `given` mapped for reading; a remote file is fetched in the parts that are read
  // (PartialCopy). Throws as readable().
  std::shared_ptr<const pth::MappedFile> read_in_parts(const std::string& given);
  // The local file to write for `given`: itself, or a scratch file that publish() uploads.
  std::string writable(const std::string& given);
  // Uploads every remote output (each appears under its name only when complete).
  void publish() const;
  // `message` with every local stand-in's path replaced by the argument it stands for.
  std::string shown(std::string message) const;

 private:
  const Rclone rclone_;
  std::vector<std::unique_ptr<LocalCopy>> copies_;
  std::vector<std::unique_ptr<PartialCopy>> partial_copies_;
  struct Upload {
    pth::TemporaryFolder folder{"sg-remote-"};   // one each: the local file keeps the remote name (torch.save's root folder)
    std::string local;
    Location to;
  };
  std::vector<std::unique_ptr<Upload>> uploads_;
  std::vector<std::pair<std::string, std::string>> stand_ins_;      // local path, as given
};

}  // namespace remote
