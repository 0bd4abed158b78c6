#include "remote/rclone.hpp"

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "remote/process.hpp"
#include "remote/remote_error.hpp"

namespace remote {
namespace {

// Our retries are the mirror's (with backoff, logged); rclone gives up on a dead server in
// seconds instead of its default of minutes.
const std::vector<std::string> kCommonFlags = {"--retries", "1", "--low-level-retries", "2", "--contimeout", "10s",
                                               "--timeout", "30s", "--log-level", "ERROR", "--use-json-log=false"};

// rclone's exit statuses (its documentation, "Exit Code").
constexpr int kDirectoryNotFound = 3;
constexpr int kFileNotFound = 4;

// The last line of rclone's stderr that says something, without its date and level.
std::string reason_of(const std::string& err, int status) {
  std::string best;
  size_t start = 0;
  while (start < err.size()) {
    size_t end = err.find('\n', start);
    if (end == std::string::npos) end = err.size();
    std::string line = err.substr(start, end - start);
    start = end + 1;
    // "2026/12/03 12:55:08 " before each line
    if (line.size() > 20 && line[4] == '/' && line[7] == '/' && line[13] == ':' && line[19] == ' ') line = line.substr(20);
    const size_t level = line.find("ERROR : ");
    const size_t notice = line.find("NOTICE: ");
    if (level != std::string::npos) line = line.substr(level + 8);
    else if (notice != std::string::npos) line = line.substr(notice + 8);
    else if (line.rfind("Failed to ", 0) != 0 && line.find("error") == std::string::npos) continue;   // news, not a failure
    if (const size_t attempt = line.find(" errors and: "); line.rfind("Attempt ", 0) == 0 && attempt != std::string::npos)
      line = line.substr(attempt + 13);   // "Attempt 1/1 failed with 1 errors and: <the error>"
    if (!line.empty()) best = line;
  }
  if (best.empty()) best = "rclone exited with status " + std::to_string(status);
  return best;
}

std::string parent_of(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  const size_t colon = path.find_last_of(':');
  if (slash == std::string::npos || (colon != std::string::npos && slash < colon)) return path.substr(0, colon + 1);
  return path.substr(0, slash);
}

std::vector<RemoteEntry> parse_listing(const std::string& lsjson_out, const std::string& what) {
  std::vector<RemoteEntry> entries;
  try {
    for (const auto& item : nlohmann::json::parse(lsjson_out)) {
      RemoteEntry e;
      e.path = item.at("Path").get<std::string>();
      const int64_t size = item.value("Size", int64_t(0));
      e.size = size < 0 ? 0 : uint64_t(size);
      e.is_dir = item.value("IsDir", false);
      entries.push_back(std::move(e));
    }
  } catch (const nlohmann::json::exception&) {
    throw RemoteError(what, "rclone's listing is not the JSON it should be");
  }
  return entries;
}

}  // namespace

Rclone::Rclone(const std::atomic<bool>* cancel) : cancel_(cancel) {
  const char* chosen = std::getenv("SG_RCLONE");
  program_ = chosen && *chosen ? chosen : "rclone";
}

ProcessResult Rclone::call(const std::vector<std::string>& args, const Location& where, const std::string& what) const {
  std::vector<std::string> argv = {program_};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), kCommonFlags.begin(), kCommonFlags.end());
  argv.insert(argv.end(), where.flags.begin(), where.flags.end());
  // rclone 1.60's S3 backend fails on AWS_CA_BUNDLE ("HTTPClient's transport unsupported
  // type"); the same bundle given as its own --ca-cert works.
  const char* ca_bundle = std::getenv("AWS_CA_BUNDLE");
  if (ca_bundle && *ca_bundle) {
    argv.push_back("--ca-cert");
    argv.push_back(ca_bundle);
  }
  const ProcessResult r = run_process(argv, "Debian's package rclone", [this] { return cancel_ && cancel_->load(); },
                                      {"AWS_CA_BUNDLE"});
  if (r.cancelled) throw RemoteError(what, "stopped (out of time)");
  return r;
}

std::string Rclone::run(const std::vector<std::string>& args, const Location& where, const std::string& what) const {
  const ProcessResult r = call(args, where, what);
  if (r.exit_status != 0) throw RemoteError(what, reason_of(r.err, r.exit_status));
  return r.out;
}

void Rclone::check_reachable(const Location& where) const {
  const std::string what = "cannot list " + where.shown;
  std::string path = where.path;
  for (;;) {
    // A folder not made yet is fine when one above it exists; anything else is not.
    const ProcessResult r = call({"lsjson", "--max-depth", "1", path}, where, what);
    if (r.exit_status == 0) return;
    const std::string parent = parent_of(path);
    if (r.exit_status != kDirectoryNotFound || parent == path || parent.empty())
      throw RemoteError(what, reason_of(r.err, r.exit_status));
    path = parent;
  }
}

std::vector<RemoteEntry> Rclone::list_files(const Location& dir) const {
  const std::string what = "cannot list " + dir.shown;
  const ProcessResult r = call({"lsjson", "--recursive", "--files-only", dir.path}, dir, what);
  if (r.exit_status == kDirectoryNotFound) return {};
  if (r.exit_status != 0) throw RemoteError(what, reason_of(r.err, r.exit_status));
  return parse_listing(r.out, what);
}

uint64_t Rclone::size_of(const Location& file) const {
  const std::string what = "cannot read " + file.shown;
  const std::vector<RemoteEntry> listed = parse_listing(run({"lsjson", "--files-only", file.path}, file, what), what);
  // A folder's listing names what is in it; a file's names the file.
  if (listed.size() != 1 || listed[0].path != file.name()) throw RemoteError(what, "not a file");
  return listed[0].size;
}

std::string Rclone::read_range(const Location& file, uint64_t offset, uint64_t count) const {
  return run({"cat", "--offset", std::to_string(offset), "--count", std::to_string(count), file.path}, file,
             "cannot read " + file.shown);
}

void Rclone::upload(const std::string& local_file, const Location& to) const {
  const std::string temp = Location{parent_of(to.path), {}, ""}.child("." + to.name() + ".partial").path;
  const std::string what = "cannot upload " + local_file + " to " + to.shown;
  run({"copyto", local_file, temp}, to, what);
  run({"moveto", temp, to.path}, to, what);
}

void Rclone::download(const Location& from, const std::string& local_file) const {
  run({"copyto", from.path, local_file}, from, "cannot download " + from.shown);
}

void Rclone::remove(const Location& file) const {
  const std::string what = "cannot remove " + file.shown;
  const ProcessResult r = call({"deletefile", file.path}, file, what);
  if (r.exit_status == 0) return;
  // Not there (never uploaded, or removed by an earlier attempt) is what was asked for.
  const ProcessResult listed = call({"lsjson", file.path}, file, what);
  const bool absent = listed.exit_status == kDirectoryNotFound || listed.exit_status == kFileNotFound ||
                      (listed.exit_status == 0 && listed.out.find("\"Path\"") == std::string::npos);
  if (!absent) throw RemoteError(what, reason_of(r.err, r.exit_status));
}

}  // namespace remote
