#include "model_template.hpp"

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "pth/adapt.hpp"
#include "pth/message.hpp"
#include "pth/program_folder.hpp"

extern char** environ;

namespace sg_ckpt_adapt {
namespace {

bool executable(const std::string& path) { return !path.empty() && ::access(path.c_str(), X_OK) == 0; }

std::string find_model_template() {
  if (const char* env = std::getenv("SG_MODEL_TEMPLATE"); env && *env) return env;
  const std::string dir = pth::program_folder();
  if (dir.empty()) return {};
  for (const std::string& candidate : {dir + "/sg-model-template", dir + "/../sg-model-template/sg-model-template"})
    if (executable(candidate)) return candidate;
  return {};
}

void run_model_template(const std::string& program, const std::string& arch, int64_t num_classes,
                        const std::string& out_path) {
  const std::string classes = std::to_string(num_classes);
  std::vector<char*> argv = {const_cast<char*>(program.c_str()), const_cast<char*>(arch.c_str()),
                             const_cast<char*>(classes.c_str()), const_cast<char*>(out_path.c_str()), nullptr};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, 2, 1);   // its stdout goes to our stderr
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw pth::AdaptError(program, std::string("cannot run: ") + std::strerror(rc));
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw pth::AdaptError(program, "cannot wait for it");
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw pth::AdaptError(program, "failed for --model " + pth::quoted(arch) + " (" +
                                       (WIFEXITED(status) ? "exit " + std::to_string(WEXITSTATUS(status))
                                                          : "signal " + std::to_string(WTERMSIG(status))) + ")");
}

}  // namespace

pth::MakeModelTemplate model_template_maker() {
  const std::string program = find_model_template();
  if (!executable(program)) return {};
  return [program](const std::string& arch, int64_t num_classes, const std::string& out_path) {
    run_model_template(program, arch, num_classes, out_path);
  };
}

}  // namespace sg_ckpt_adapt
