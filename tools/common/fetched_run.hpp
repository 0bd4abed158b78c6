#pragma once
// --storage-location for the programs that use a run: the run fetched from the remote first.
#include <string>

#include "common/recipe_options.hpp"

namespace common {

// The run id to use: run.run_id as given, or, with --storage-location, the run fetched into
// --ckpt-root-dir (holding `ckpt_name`), what was fetched said on stderr. Throws
// sg::RecipeError (an input error).
std::string fetched_run_id(const RunOptions& run, const std::string& ckpt_name);

}  // namespace common
