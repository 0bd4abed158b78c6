#include "sg/run_training.hpp"

#include <iostream>
#include <memory>

#include "sg/exit_codes.hpp"
#include "sg/trainer.hpp"
#include "sg/validation.hpp"

namespace sg {

int run_training(const std::function<Recipe()>& make_recipe, const std::string& program) {
  keep_freed_memory_for_reuse();
  const std::string prefix = program + ": error: ";
  std::unique_ptr<Trainer> trainer;
  try {
    trainer = std::make_unique<Trainer>(make_recipe());
  } catch (const std::exception& e) {
    std::cerr << prefix << first_line(e.what()) << "\n";
    return kExitInputError;
  }
  try {
    std::cout << trainer->train() << std::endl;
    return kExitOk;
  } catch (const TrainingInterrupted& e) {
    std::cerr << program << ": " << e.what() << "\n";
    return kExitInterrupted;
  } catch (const RunDirError& e) {
    std::cerr << prefix << first_line(e.what()) << "\n";
    return kExitInputError;   // ckpt_root_dir or the run directory cannot be written: bad input
  } catch (const RunWriteError& e) {
    std::cerr << prefix << first_line(e.what()) << "\n";
    return kExitCheckpointWrite;
  } catch (const std::exception& e) {
    std::cerr << prefix << first_line(e.what()) << "\n";
    return kExitFailed;
  }
}

}  // namespace sg
