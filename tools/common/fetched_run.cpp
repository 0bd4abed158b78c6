#include "common/fetched_run.hpp"

#include <cstdio>
#include <vector>

#include "recipe/recipe.hpp"
#include "sg/train/remote_run.hpp"

namespace common {

std::string fetched_run_id(const RunOptions& run, const std::string& ckpt_name) {
  if (run.storage_location.empty()) return run.run_id;
  if (run.experiment_name.empty()) throw sg::RecipeError("--storage-location fetches a run: it needs --experiment-name");
  std::vector<std::string> notes;
  const std::string id =
      sg::fetch_remote_run("--storage-location", run.storage_location, run.ckpt_root_dir, run.experiment_name, run.run_id, ckpt_name, notes);
  for (const std::string& note : notes) std::fprintf(stderr, "%s\n", note.c_str());
  return id;
}

}  // namespace common
