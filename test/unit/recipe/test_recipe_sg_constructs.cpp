// What SG's recipes write beyond plain YAML: `_target_` objects (an allow-list, nothing is
// imported), Hydra's `hydra:` block, and SG's shortcut keys (variable_setup.yaml).
#include <catch2/catch.hpp>

#include "recipe_files.hpp"

namespace {

const char* const kCallback =
    "hydra:\n  callbacks:\n    shortcuts_cb:\n      _target_: super_gradients.common.environment.omegaconf_utils."
    "RecipeShortcutsCallback\n";

// The keys SG's shortcuts stand for, and the shortcuts unset as variable_setup.yaml has them.
const char* const kGroups =
    "training_hyperparams: {initial_lr: 0.1, max_epochs: 10, ema: false, resume: false}\n"
    "dataset_params:\n  train_dataloader_params: {batch_size: 8, num_workers: 3}\n"
    "  val_dataloader_params: {batch_size: 16, num_workers: 1}\n"
    "schedule: {last_epoch: '${training_hyperparams.max_epochs}'}\n";
const char* const kUnset = "lr:\nbatch_size:\nval_batch_size:\nema:\nepochs:\nresume:\nnum_workers:\n";

struct Folder {
  TempDir dir;
  std::string write(const std::string& name, const std::string& text) const { return write_recipe_file(dir, name, text); }
  sg::Recipe compose(const std::string& name, std::vector<std::string> overrides = {}) const {
    return sg::compose_recipe({name, {dir.path().string()}, std::move(overrides)});
  }
  std::string error(const std::string& name, std::vector<std::string> overrides = {}) const {
    return compose_error(dir, name, std::move(overrides));
  }
};

}  // namespace

TEST_CASE_METHOD(Folder, "value targets are replaced by their value") {
  write("r.yaml",
        "strict: {_target_: super_gradients.training.sg_trainer.StrictLoad, value: key_matching}\n"
        "strict_on: {_target_: super_gradients.common.data_types.enum.strict_load.StrictLoad, value: True}\n"
        "ints: {_target_: numpy.arange, start: 100, stop: 250, step: 50}\n"
        "floats: {_target_: numpy.arange, start: 0.1, stop: 1, step: 0.3}\n"
        "stop_only: {_target_: numpy.arange, stop: 3}\n"
        "down: {_target_: numpy.arange, start: 3, stop: 0, step: -1}\n"
        "none: {_target_: numpy.arange, start: 5, stop: 1}\n"
        "empty: {_target_: super_gradients.training.utils.utils.empty_list}\n"
        "mixup: {_target_: super_gradients.training.datasets.mixup.CollateMixup, mixup_alpha: 0.2}\n");
  const sg::Recipe r = compose("r");
  CHECK(r.get<std::string>("strict") == "key_matching");
  CHECK(r.get<bool>("strict_on"));
  CHECK(r.get<std::vector<int64_t>>("ints") == std::vector<int64_t>{100, 150, 200});
  // numpy: 0.1 + i * ((0.1 + 0.3) - 0.1)
  const double delta = (0.1 + 0.3) - 0.1;
  CHECK(r.get<std::vector<double>>("floats") == std::vector<double>{0.1, 0.1 + delta, 0.1 + 2 * delta});
  CHECK_THROWS_AS(r.get<std::vector<int64_t>>("floats"), sg::RecipeError);
  CHECK(r.get<std::vector<int64_t>>("stop_only") == std::vector<int64_t>{0, 1, 2});
  CHECK(r.get<std::vector<int64_t>>("down") == std::vector<int64_t>{3, 2, 1});
  CHECK(r.node("none").size() == 0);
  CHECK(r.node("empty").IsSequence());
  CHECK(r.node("empty").size() == 0);
  CHECK(r.get<double>("mixup.mixup_alpha") == Approx(0.2));  // an object: kept for the program that builds it
}

TEST_CASE_METHOD(Folder, "overrides replace evaluated targets with values of their type") {
  write("r.yaml",
        "strict_load: {_target_: super_gradients.training.sg_trainer.StrictLoad, value: no_key_matching}\n"
        "lr_updates: {_target_: super_gradients.training.utils.utils.empty_list}\n");
  const sg::Recipe r = compose("r", {"strict_load=off", "lr_updates=[10, 20]"});
  CHECK(r.get<std::string>("strict_load") == "off");
  CHECK(r.get<std::vector<int64_t>>("lr_updates") == std::vector<int64_t>{10, 20});
  CHECK_THAT(error("r", {"lr_updates=5"}), Catch::Contains("lr_updates: expected a list, got '5'"));
}

TEST_CASE_METHOD(Folder, "a target whose arguments hold references is evaluated once they are resolved") {
  write("r.yaml", "epochs: 6\nsteps: {_target_: numpy.arange, start: 2, stop: '${epochs}', step: 2}\n");
  CHECK(compose("r").get<std::vector<int64_t>>("steps") == std::vector<int64_t>{2, 4});
  CHECK(compose("r", {"epochs=9"}).get<std::vector<int64_t>>("steps") == std::vector<int64_t>{2, 4, 6, 8});
}

TEST_CASE_METHOD(Folder, "targets off the list are errors naming the key, the target and the file") {
  write("r.yaml", "defaults:\n  - training_hyperparams: t\n  - _self_\n");
  const std::string group = write("training_hyperparams/t.yaml", "loss:\n  _target_: torch.nn.CrossEntropyLoss\n");
  CHECK_THAT(error("r"), Catch::EndsWith("training_hyperparams.loss: _target_ 'torch.nn.CrossEntropyLoss': not supported "
                                         "(nothing is imported: the targets accepted are SG's StrictLoad, numpy.arange, "
                                         "empty_list and CollateMixup) (written in " + group + ")"));
  write("bad.yaml", "a: {_target_: os.system, command: rm}\n");
  CHECK_THAT(error("bad"), Catch::Contains("a: _target_ 'os.system': not supported"));
  // added by an override: no file to name
  write("plain.yaml", "a: 1\n");
  CHECK_THAT(error("plain", {"+b={_target_: os.system}"}), Catch::EndsWith("b: _target_ 'os.system': not supported "
                                                                           "(nothing is imported: the targets accepted "
                                                                           "are SG's StrictLoad, numpy.arange, "
                                                                           "empty_list and CollateMixup)"));
}

TEST_CASE_METHOD(Folder, "bad arguments of known targets are errors") {
  auto error_of = [&](const std::string& value) {
    write("r.yaml", "k: " + value + "\n");
    return error("r");
  };
  CHECK_THAT(error_of("{_target_: super_gradients.training.sg_trainer.StrictLoad, value: maybe}"),
             Catch::Contains("k: _target_ 'super_gradients.training.sg_trainer.StrictLoad': value 'maybe' is not one of "
                             "StrictLoad's"));
  CHECK_THAT(error_of("{_target_: super_gradients.training.sg_trainer.StrictLoad, valeu: on}"),
             Catch::Contains("unknown argument 'valeu'"));
  CHECK_THAT(error_of("{_target_: numpy.arange, start: 1}"), Catch::Contains("numpy.arange needs 'stop'"));
  CHECK_THAT(error_of("{_target_: numpy.arange, stop: 5, step: 0}"), Catch::Contains("step not 0"));
  CHECK_THAT(error_of("{_target_: numpy.arange, stop: ten}"), Catch::Contains("stop: expected a number, got 'ten'"));
  CHECK_THAT(error_of("{_target_: numpy.arange, stop: 1.0e12}"), Catch::Contains("items, more than 50000"));
  CHECK_THAT(error_of("{_target_: numpy.arange, stop: .inf}"), Catch::Contains("must be finite"));
  CHECK_THAT(error_of("{_target_: super_gradients.training.utils.utils.empty_list, n: 3}"),
             Catch::Contains("unknown argument 'n'"));
  CHECK_THAT(error_of("{_target_: [numpy.arange]}"), Catch::Contains("_target_ a list: not supported"));
}

TEST_CASE_METHOD(Folder, "SG's hydra block: checked, run.dir and searchpath dropped, callbacks kept") {
  write("r.yaml", std::string(kGroups) + kUnset + "ckpt_root_dir: null\nexperiment_name: e\n" + kCallback +
                      "  run:\n    dir: ${hydra_output_dir:${ckpt_root_dir}, ${experiment_name}}\n"
                      "  searchpath: [pkg://super_gradients.recipes]\n");
  const sg::Recipe r = compose("r");
  CHECK(r.has("hydra.callbacks.shortcuts_cb._target_"));
  CHECK_FALSE(r.has("hydra.run"));
  CHECK_FALSE(r.has("hydra.searchpath"));
  CHECK_THAT(error("r", {"hydra.run.dir=/tmp/x"}), Catch::Contains("hydra.run.dir: only SG's"));

  write("other_dir.yaml", "hydra:\n  run:\n    dir: .\n");
  CHECK_THAT(error("other_dir"), Catch::Contains("hydra.run.dir: only SG's '${hydra_output_dir:${ckpt_root_dir}, "
                                                 "${experiment_name}}' is accepted"));
  write("no_callback.yaml", "hydra:\n  searchpath: [pkg://super_gradients.recipes]\n");
  CHECK_FALSE(compose("no_callback").has("hydra"));
  write("file_path.yaml", "hydra:\n  searchpath: [file:///etc]\n");
  CHECK_THAT(error("file_path"), Catch::Contains("hydra.searchpath.0: only 'pkg://super_gradients.recipes' is accepted"));
  write("job.yaml", "hydra:\n  job:\n    chdir: true\n");
  CHECK_THAT(error("job"), Catch::Contains("hydra.job: not supported (accepted in hydra: callbacks, run.dir, searchpath)"));
  write("cb.yaml", "hydra:\n  callbacks:\n    mine: {_target_: my.Callback}\n");
  CHECK_THAT(error("cb"), Catch::Contains("hydra.callbacks.mine: the only Hydra callback accepted is SG's"));
}

TEST_CASE_METHOD(Folder, "SG's shortcuts callback copies shortcuts as SG does") {
  const std::string groups = kGroups, unset = kUnset;
  write("sg.yaml", groups + unset + kCallback);
  const sg::Recipe r = compose("sg");
  // unset shortcuts show their keys' values; with num_workers unset, the validation loader
  // takes the training loader's (SG copies train's value into the shortcut first)
  CHECK(r.get<double>("lr") == Approx(0.1));
  CHECK(r.get<int>("epochs") == 10);
  CHECK(r.get<int>("num_workers") == 3);
  CHECK(r.get<int>("dataset_params.val_dataloader_params.num_workers") == 3);
  // a shortcut set in the recipe is copied into its key, and references to the key see it
  write("set.yaml", groups + unset + "epochs: 4\n" + kCallback);
  CHECK(compose("set").get<int>("training_hyperparams.max_epochs") == 4);
  CHECK(compose("set").get<int>("schedule.last_epoch") == 4);
  CHECK(compose("sg", {"epochs=7"}).get<int>("schedule.last_epoch") == 7);
  CHECK(compose("sg", {"num_workers=0"}).get<int>("dataset_params.val_dataloader_params.num_workers") == 0);
  // the callback needs the shortcut and its keys
  write("missing.yaml", "training_hyperparams: {initial_lr: 0.1}\n" + unset + kCallback);
  CHECK_THAT(error("missing"), Catch::Contains("dataset_params.train_dataloader_params.batch_size: missing from the recipe "
                                               "(SG's RecipeShortcutsCallback, listed in hydra.callbacks, copies "
                                               "shortcut 'batch_size'"));
  // without the callback a top-level key of a shortcut's name is just a key
  write("plain.yaml", groups + "epochs: 4\n");
  CHECK(compose("plain").get<int>("training_hyperparams.max_epochs") == 10);
}
