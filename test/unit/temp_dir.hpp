#pragma once
// The C++ test library: a temporary folder and its files, a file's bytes, a folder's
// listing, the message of the exception a call throws, and whether /usr/bin/python3 is there.
#include <catch2/catch.hpp>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

// A fresh directory under the system temp folder, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() / ("sg-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;   // a test may have taken away the folder's own permissions
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

  // Writes `text` to `relative` (folders made as needed); returns the file's path.
  std::string write(const std::string& relative, const std::string& text) const {
    const std::filesystem::path p = path_ / relative;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }

 private:
  std::filesystem::path path_;
};

// The whole content of the file at `p` ("" when it cannot be read).
inline std::string file_contents(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The names of the entries of `dir` (files, folders, links), sorted.
inline std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The message of the E (or a class derived from it) that `f` throws, as `describe` tells it
// (default: what()), or "<no error>" when `f` returns. Any other exception escapes.
template <class E>
std::string error_message(const std::function<void()>& f,
                          const std::function<std::string(const E&)>& describe = nullptr) {
  try {
    f();
  } catch (const E& e) {
    return describe ? describe(e) : std::string(e.what());
  }
  return "<no error>";
}

// True if rclone runs; otherwise false, with a warning that the calling test is skipped
// (scripts/setup installs it).
inline bool rclone_or_skip() {
  if (std::system("rclone version >/dev/null 2>&1") == 0) return true;
  WARN("rclone is not installed (scripts/setup installs it): skipped");
  return false;
}

// True if /usr/bin/python3 can be run; otherwise false, with a warning that the calling
// test is skipped. (The cross-checks in test/python fail instead: they need torch.)
inline bool python3_or_skip() {
  if (::access("/usr/bin/python3", X_OK) == 0) return true;
  WARN("no /usr/bin/python3: skipped");
  return false;
}
