#pragma once
#include <string>

namespace pth {

// A private folder (mkdtemp, mode 0700) removed with everything in it on destruction.
class TemporaryFolder {
 public:
  // Named `<prefix>` and six random characters, in `parent` ("": $TMPDIR, or /tmp). Throws
  // pth::Error "cannot make a temporary folder <pattern>: <reason>".
  explicit TemporaryFolder(const std::string& prefix, const std::string& parent = "");
  ~TemporaryFolder();
  TemporaryFolder(const TemporaryFolder&) = delete;
  TemporaryFolder& operator=(const TemporaryFolder&) = delete;

  const std::string& path() const { return path_; }
  // `name` (a file name, no folders) inside the folder.
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace pth
