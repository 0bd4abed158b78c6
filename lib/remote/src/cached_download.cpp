#include "remote/cached_download.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "pth/error.hpp"
#include "pth/folder.hpp"
#include "pth/input_file.hpp"
#include "pth/sha256.hpp"
#include "pth/temporary_folder.hpp"
#include "remote/remote_error.hpp"

namespace remote {

std::string cached_download(const Location& from, const std::string& cache, const std::string& name,
                            const std::string& sha256, const Rclone& rclone) {
  const std::string what = "cannot fetch " + from.shown;
  const std::string cached = cache + "/" + name;
  try {
    std::error_code made;
    std::filesystem::create_directories(cache, made);
    if (made) throw RemoteError(what, "cannot make the cache folder " + cache + ": " + made.message());
    if (pth::input_file_problem(cached).empty() && pth::file_sha256(cached) == sha256) return cached;

    const pth::TemporaryFolder download(".download-", cache);   // beside it: the rename stays on one file system
    const std::string fetched = download.file(name);
    rclone.download(from, fetched);
    const std::string actual = pth::file_sha256(fetched);
    if (actual != sha256) throw RemoteError(what, "its SHA-256 is " + actual + ", the manifest says " + sha256);
    if (std::rename(fetched.c_str(), cached.c_str()) != 0)
      throw RemoteError(what, "cannot move it into " + cache + ": " + std::strerror(errno));
    pth::Folder::open(cache).sync();
    return cached;
  } catch (const pth::Error& e) {
    throw RemoteError(what, e.what());
  }
}

}  // namespace remote
