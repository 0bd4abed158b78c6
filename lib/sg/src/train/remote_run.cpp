#include "sg/train/remote_run.hpp"

#include <filesystem>
#include <system_error>

#include "pth/checkpoint.hpp"
#include "pth/error.hpp"
#include "recipe/recipe.hpp"
#include "recipe/run_dir.hpp"
#include "remote/rclone.hpp"
#include "remote/remote_error.hpp"
#include "train/run_records.hpp"

namespace fs = std::filesystem;

namespace sg {
namespace {

const char* const kLocationKey = "training_hyperparams.sg_logger_params.storage_location";

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The newest RUN_ folder of the listing that holds ckpt_name ("" when none does).
std::string newest_run_with(const std::vector<remote::RemoteEntry>& files, const std::string& ckpt_name) {
  std::string newest;
  for (const remote::RemoteEntry& f : files) {
    const size_t slash = f.path.find('/');
    if (slash == std::string::npos || f.path.substr(slash + 1) != ckpt_name) continue;
    const std::string id = f.path.substr(0, slash);
    if (is_run_id(id) && id > newest) newest = id;
  }
  return newest;
}

// One remote file into place: downloaded next to its name, checked, then renamed.
void download_checked(const remote::Rclone& rclone, const remote::Location& from, const remote::RemoteEntry& entry,
                      const fs::path& to) {
  fs::create_directories(to.parent_path());
  const fs::path partial = to.string() + ".download";
  try {
    rclone.download(from, partial.string());
    std::error_code ec;
    const uintmax_t size = fs::file_size(partial, ec);
    if (ec || size != entry.size)
      throw remote::RemoteError("downloaded " + from.shown + ": " + std::to_string(ec ? 0 : size) + " bytes, the remote has " +
                                std::to_string(entry.size));
    if (ends_with(entry.path, ".pth")) {
      const std::vector<std::string> problems = pth::verify_checkpoint(pth::read_checkpoint(partial.string()));
      if (!problems.empty()) throw remote::RemoteError("downloaded " + from.shown + " is damaged: " + problems.front());
    }
  } catch (const pth::Error& e) {
    std::error_code ec;
    fs::remove(partial, ec);
    throw remote::RemoteError("downloaded " + from.shown + " is not a sound checkpoint: " + e.what());
  } catch (...) {
    std::error_code ec;
    fs::remove(partial, ec);
    throw;
  }
  fs::rename(partial, to);
}

}  // namespace

remote::Location remote_run_location(const RemoteConfig& config, const std::string& experiment, const std::string& run_id) {
  return remote::parse_location(config.storage_location).child(experiment + "/" + run_id);
}

void check_storage_location(const RemoteConfig& config) {
  try {
    remote::Rclone().check_reachable(remote::parse_location(config.storage_location));
  } catch (const remote::RemoteError& e) {
    throw RecipeError(std::string(kLocationKey) + ": " + e.what());
  }
}

std::string fetch_remote_run(const std::string& setting, const std::string& storage_location, const std::string& ckpt_root,
                             const std::string& experiment, const std::string& run_id, const std::string& ckpt_name,
                             std::vector<std::string>& notes) {
  const remote::Rclone rclone;
  remote::Location base;
  try {
    base = remote::parse_location(storage_location);
  } catch (const std::invalid_argument& e) {
    throw RecipeError(setting + ": " + e.what());
  }
  const remote::Location experiment_dir = base.child(experiment);
  try {
    std::string id = run_id;
    if (id.empty()) {
      id = newest_run_with(rclone.list_files(experiment_dir), ckpt_name);
      if (id.empty())
        throw RecipeError(setting + ": no run of experiment '" + experiment + "' under " +
                          experiment_dir.shown + " holds " + ckpt_name);
    }
    const fs::path local = fs::path(ckpt_root) / experiment / id;
    if (fs::is_regular_file(local / ckpt_name)) {
      notes.push_back("run " + id + " is here already (" + (local / ckpt_name).string() + "): resuming from it, not from " +
                      experiment_dir.shown);
      return id;
    }
    const remote::Location run = experiment_dir.child(id);
    std::vector<remote::RemoteEntry> needed;
    bool has_checkpoint = false;
    for (const remote::RemoteEntry& f : rclone.list_files(run)) {
      if (f.path == ckpt_name) has_checkpoint = true;
      // What continuing needs: the checkpoint, the stored recipe, the averaging snapshots,
      // and the records that the continued run keeps.
      if (f.path == ckpt_name || starts_with(f.path, ".hydra/") || starts_with(f.path, "averaging/") ||
          f.path == record_files::kMetrics || f.path == record_files::kSteps)
        needed.push_back(f);
    }
    if (!has_checkpoint)
      throw RecipeError(setting + ": remote run " + run.shown + " has no " + ckpt_name);
    uint64_t bytes = 0;
    for (const remote::RemoteEntry& f : needed) {
      download_checked(rclone, run.child(f.path), f, local / f.path);
      bytes += f.size;
    }
    notes.push_back("downloaded " + std::to_string(needed.size()) + " files (" + std::to_string(bytes) + " bytes) of run " +
                    id + " from " + run.shown);
    return id;
  } catch (const remote::RemoteError& e) {
    throw RecipeError(setting + ": " + e.what());
  } catch (const fs::filesystem_error& e) {
    throw RecipeError(setting + ": " + e.what());
  }
}

}  // namespace sg
