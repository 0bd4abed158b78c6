#pragma once
// SG's run directories: <ckpt_root_dir>/<experiment_name>/RUN_%Y%m%d_%H%M%S_%f/.
#include <optional>
#include <stdexcept>
#include <string>

#include "pth/folder.hpp"
#include "recipe/recipe.hpp"

namespace sg {

// A fresh run id from the local time, e.g. RUN_20230802_131052_651906.
std::string make_run_id();
bool is_run_id(const std::string& name);

// The newest run (by name) of the experiment that holds `ckpt_name`, if any.
std::optional<std::string> find_latest_run(const std::string& ckpt_root_dir, const std::string& experiment_name,
                                           const std::string& ckpt_name = "ckpt_latest.pth");
// The newest run of the experiment whose holder last recorded `job` (RunDirectory::create,
// record_holder), if any: the run a restarted job started.
std::optional<std::string> find_run_of_job(const std::string& ckpt_root_dir, const std::string& experiment_name,
                                           const std::string& job);

// Another process holds the run directory (what() names it and the holder).
class RunInUseError : public std::runtime_error {
 public:
  explicit RunInUseError(const std::string& what) : std::runtime_error(what) {}
};

// A run directory this process writes: it holds the run's lock for its lifetime (a second
// trainer on the same run is refused), and every file of the run is written through its
// folder handle, never through a link planted inside.
class RunDirectory {
 public:
  // Creates <root>/<experiment>/<run id>/ (and the parents); a run id that already exists
  // gets the next microsecond. `job`: see record_holder. Throws std::runtime_error naming
  // the folder.
  static RunDirectory create(const std::string& ckpt_root_dir, const std::string& experiment_name,
                             const std::string& job = "");
  // An existing run, locked without writing anything (a resume refused for bad input
  // leaves the run as it was). Throws RunInUseError, or std::runtime_error naming the folder.
  static RunDirectory open(const std::string& path);
  // Writes this process's name, pid and host into the lock file, for the message a second
  // trainer prints (create() does it at once), and the job it works for, if any (a torchrun
  // agent, which restarts its workers: find_run_of_job). Throws std::runtime_error.
  void record_holder(const std::string& job = "") const;

  const pth::Folder& folder() const { return folder_; }
  const std::string& path() const { return folder_.path(); }
  // A sub-folder of the run (made if missing); a link in its place is refused.
  pth::Folder subfolder(const std::string& name) const { return folder_.child(name, true); }
  // Removes temp files that killed writers left in the run and in its sub-folders.
  void remove_leftover_temp_files() const;
  // Writes .hydra/config.yaml and .hydra/overrides.yaml (sg::stored_recipe), both in full
  // before either replaces what is there, so that a failed write leaves the stored pair as
  // it was, never one new file and one old. Throws RunWriteError.
  void store_recipe(const Recipe& recipe) const;

  static constexpr const char* kLockName = ".lock";
  static constexpr const char* kJobTag = " job ";

 private:
  RunDirectory(pth::Folder folder, std::shared_ptr<const int> lock) : folder_(std::move(folder)), lock_(std::move(lock)) {}
  pth::Folder folder_;
  std::shared_ptr<const int> lock_;   // the locked descriptor, closed with the last copy
};

}  // namespace sg
