#pragma once
// Remote files kept in a local cache, each checked against the SHA-256 it should have (a
// model zoo's manifest): what is cached is either complete and right, or absent.
#include <string>

#include "remote/location.hpp"
#include "remote/rclone.hpp"

namespace remote {

// `from` as the file `name` in the local folder `cache` (made if needed): a copy already
// there with the sum `sha256` is used as it is; otherwise `from` is downloaded into a
// private folder beside it, checked, and renamed into place. A failed download or a wrong
// sum leaves the cache as it was. Returns the cached file's path; throws RemoteError
// (what() names `from`; a wrong sum says both sums).
std::string cached_download(const Location& from, const std::string& cache, const std::string& name,
                            const std::string& sha256, const Rclone& rclone);

}  // namespace remote
