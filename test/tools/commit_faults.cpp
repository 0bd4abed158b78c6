// Linked into test-only copies of the programs (sg_train_faults): at start-up it reads
// SG_FAULT=<action>:<k> and acts at the k-th committed write (AtomicFile) of the process,
// so that tests can stop a save at every point of its sequence:
//   kill:<k>  SIGKILL right after the k-th rename, as a crash there would
//   fail:<k>  the k-th write fails before its rename, as a full disk would
// SG_FAULT_LOG=<file> gets one line per committed target, to learn the sequence.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "pth/atomic_file.hpp"
#include "pth/error.hpp"

namespace {

std::string g_action;
long g_at = 0;
long g_commits = 0;

void on_commit(pth::CommitStage stage, const std::string& target) {
  if (stage == pth::CommitStage::BeforeRename) {
    if (g_action == "fail" && g_commits + 1 == g_at) throw pth::NoSpaceError("write failed: No space left on device (injected)");
    return;
  }
  ++g_commits;
  if (const char* log = std::getenv("SG_FAULT_LOG")) {
    if (std::FILE* f = std::fopen(log, "a")) {
      std::fprintf(f, "%s\n", target.c_str());
      std::fclose(f);
    }
  }
  if (g_action == "kill" && g_commits == g_at) ::raise(SIGKILL);
}

[[maybe_unused]] const bool installed = [] {
  const char* fault = std::getenv("SG_FAULT");
  if (fault) {
    const std::string spec = fault;
    const size_t colon = spec.find(':');
    g_action = spec.substr(0, colon);
    g_at = colon == std::string::npos ? 0 : std::strtol(spec.c_str() + colon + 1, nullptr, 10);
  }
  pth::set_commit_hook(on_commit);
  return true;
}();

}  // namespace
