#include "common/training_runner.hpp"

#include <csignal>
#include <iostream>
#include <memory>

#include "common/cli.hpp"
#include "common/exit_codes.hpp"
#include "common/local_workers.hpp"
#include "common/worker_statuses.hpp"
#include "sg/runtime/cpu_settings.hpp"
#include "sg/train/stop_signal.hpp"

namespace common {

const char* const kTrainingExitStatus =
    "Exit status: 0 trained, 1 training failed, 2 bad usage/recipe/data/run, 3 a file of the run could not be written,\n"
    "4 stopped by SIGINT/SIGTERM/SIGHUP after saving its position to ckpt_latest.pth.\n"
    "With multi_gpu=DDP num_gpus=N it starts N workers itself and exits with the most severe of their statuses\n"
    "(0, 4, 2, 1, 3, another, 128 + signal of a worker ended by one).";

int run_training(const std::function<sg::Recipe()>& make_recipe, const sg::TrainingOptions& options,
                 const std::string& program) {
  std::signal(SIGXFSZ, SIG_IGN);   // a file-size limit must surface as a write error, not kill us
  sg::install_stop_signal_handlers();
  sg::keep_freed_memory_for_reuse();
  std::unique_ptr<sg::Training> training;
  try {
    sg::Recipe recipe = make_recipe();
    if (const int64_t workers = sg::workers_to_start(recipe); workers > 0) {
      std::cerr << program << ": starting " << workers << " workers on this machine (num_gpus: " << workers << ")\n";
      return launcher_exit_status(run_local_workers({workers, options.collective_timeout_s}), program);
    }
    sg::TrainingOptions named = options;
    named.program = program;
    training = std::make_unique<sg::Training>(std::move(recipe), named);
  } catch (const std::exception& e) {
    print_error(program, e.what());
    return kExitInputError;
  }
  try {
    const std::string run_dir = training->run();
    if (!run_dir.empty()) std::cout << run_dir << std::endl;
    return kExitOk;
  } catch (const sg::TrainingInterrupted& e) {
    std::cerr << program << ": " << e.what() << "\n";
    if (!e.run_dir().empty()) std::cout << e.run_dir() << std::endl;   // still the last line: run=$(sg-train ...)
    return kExitInterrupted;
  } catch (const sg::RunDirError& e) {
    print_error(program, e.what());
    return kExitInputError;   // ckpt_root_dir or the run directory cannot be written: bad input
  } catch (const sg::RunWriteError& e) {
    print_error(program, e.what());
    return kExitCheckpointWrite;
  } catch (const std::exception& e) {
    print_error(program, e.what());
    return kExitFailed;
  }
}

}  // namespace common
