// Command-line overrides: typing, unknown keys, `+` and `~`, SG shortcuts.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <functional>

#include "recipe/recipe.hpp"
#include "recipe_files.hpp"
#include "temp_dir.hpp"

namespace {

const char* kRecipe = R"(
defaults:
  - training_hyperparams: train
  - dataset_params: data
experiment_name: exp
ckpt_root_dir:
name: "123"
training_hyperparams:
  max_epochs: 5
)";

const char* kTrain = R"(
max_epochs: 10
initial_lr: 0.1
ema: False
resume: False
lr_updates: [100, 150]
lr_mode: step
optimizer_params: {momentum: 0.9, nesterov: false}
clip_grad_norm: null
metrics: [Accuracy]
)";

const char* kData = R"(
train_dataloader_params: {batch_size: 64, num_workers: 1}
val_dataloader_params: {batch_size: 128, num_workers: 1}
)";

struct Fixture {
  TempDir dir;
  Fixture() {
    write("main.yaml", kRecipe);
    write("training_hyperparams/train.yaml", kTrain);
    write("dataset_params/data.yaml", kData);
  }
  void write(const std::string& rel, const std::string& text) const {
    std::filesystem::path p = dir.path() / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  sg::Recipe compose(std::vector<std::string> overrides) const {
    return sg::compose_recipe({"main", {dir.path().string()}, std::move(overrides)});
  }
  std::string error(std::vector<std::string> overrides) const {
    try {
      compose(std::move(overrides));
    } catch (const sg::RecipeError& e) {
      return e.what();
    }
    return "<no error>";
  }
};

}  // namespace

TEST_CASE_METHOD(Fixture, "overrides keep the value's type") {
  sg::Recipe r = compose({"training_hyperparams.max_epochs=3", "training_hyperparams.initial_lr=1e-3",
                          "training_hyperparams.ema=True", "training_hyperparams.resume=false",
                          "training_hyperparams.lr_updates=[1, 2, 3]", "training_hyperparams.lr_mode=cosine",
                          "training_hyperparams.clip_grad_norm=2.5", "experiment_name='quoted name'"});
  CHECK(r.get<int>("training_hyperparams.max_epochs") == 3);
  CHECK(r.get<double>("training_hyperparams.initial_lr") == Approx(1e-3));
  CHECK(r.get<bool>("training_hyperparams.ema"));
  CHECK_FALSE(r.get<bool>("training_hyperparams.resume"));
  CHECK(r.get<std::vector<int64_t>>("training_hyperparams.lr_updates") == std::vector<int64_t>{1, 2, 3});
  CHECK(r.get<std::string>("training_hyperparams.lr_mode") == "cosine");
  CHECK(r.get<double>("training_hyperparams.clip_grad_norm") == Approx(2.5));
  CHECK(r.get<std::string>("experiment_name") == "quoted name");
}

TEST_CASE_METHOD(Fixture, "an integer is accepted for a float and stays a float") {
  sg::Recipe r = compose({"training_hyperparams.initial_lr=1"});
  CHECK(r.get<double>("training_hyperparams.initial_lr") == Approx(1.0));
  CHECK_THROWS_AS(r.get<int>("training_hyperparams.initial_lr"), sg::RecipeError);
}

TEST_CASE_METHOD(Fixture, "any scalar is accepted for a string and stays a string") {
  sg::Recipe r = compose({"experiment_name=123", "training_hyperparams.lr_mode=true"});
  CHECK(r.get<std::string>("experiment_name") == "123");
  CHECK_THROWS_AS(r.get<int>("experiment_name"), sg::RecipeError);
  CHECK(r.get<std::string>("training_hyperparams.lr_mode") == "true");
  CHECK_THROWS_AS(r.get<bool>("training_hyperparams.lr_mode"), sg::RecipeError);
  // a quoted number in the recipe file is a string too
  CHECK(compose({"name=abc"}).get<std::string>("name") == "abc");
  CHECK_THAT(error({"experiment_name=[1,2]"}), Catch::Contains("experiment_name: expected a string"));
}

TEST_CASE_METHOD(Fixture, "null is accepted anywhere and null keys accept anything") {
  sg::Recipe r = compose({"training_hyperparams.max_epochs=null", "ckpt_root_dir=/tmp/runs",
                          "training_hyperparams.lr_updates=~"});
  CHECK(r.node("training_hyperparams.max_epochs").IsNull());
  CHECK(r.node("training_hyperparams.lr_updates").IsNull());
  CHECK(r.get<std::string>("ckpt_root_dir") == "/tmp/runs");
  CHECK(compose({"training_hyperparams.clip_grad_norm=[1]"}).get<std::vector<int64_t>>(
            "training_hyperparams.clip_grad_norm") == std::vector<int64_t>{1});
}

TEST_CASE_METHOD(Fixture, "wrong types are errors naming the key and the value") {
  // (override under training_hyperparams., what the message says after "training_hyperparams.")
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"max_epochs=abc", "max_epochs: expected an integer, got 'abc'"},
      {"max_epochs=2.5", "max_epochs: expected an integer, got '2.5'"},
      {"initial_lr=fast", "initial_lr: expected a number, got 'fast'"},
      {"ema=yes", "ema: expected a boolean"},
      {"ema=1", "ema: expected a boolean"},
      {"lr_updates=100", "lr_updates: expected a list, got '100'"},
      {"optimizer_params=3", "optimizer_params: expected a mapping"},
      {"max_epochs=[1", "max_epochs=[1"},
  };
  for (const auto& [override_, message] : cases) {
    CHECK_THAT(error({"training_hyperparams." + override_}), Catch::Contains("training_hyperparams." + message));
  }
  // the recipe is named
  CHECK_THAT(error({"training_hyperparams.max_epochs=abc"}), Catch::Contains("recipe 'main'"));
}

TEST_CASE_METHOD(Fixture, "unknown keys are errors with a close-match suggestion") {
  std::string msg = error({"training_hyperparams.max_epoch=3"});
  CHECK_THAT(msg, Catch::Contains("unknown key 'training_hyperparams.max_epoch'"));
  CHECK_THAT(msg, Catch::Contains("did you mean 'max_epochs'?"));
  CHECK_THAT(error({"training_hyperparam.max_epochs=3"}), Catch::Contains("did you mean 'training_hyperparams'?"));
  CHECK_THAT(error({"completely_new=3"}), Catch::Contains("unknown key 'completely_new'"));
  CHECK_THAT(error({"training_hyperparams.max_epochs.deeper=3"}),
             Catch::Contains("unknown key 'training_hyperparams.max_epochs.deeper'"));
  CHECK_THAT(error({"no_equals_sign"}), Catch::Contains("no_equals_sign"));
  CHECK_THAT(error({"a..b=1"}), Catch::Contains("a..b"));
}

TEST_CASE_METHOD(Fixture, "a key given at the wrong level is shown where it is, not added with '+'") {
  std::string msg = error({"initial_lr=0.5"});
  CHECK_THAT(msg, Catch::Contains("unknown key 'initial_lr' (did you mean 'training_hyperparams.initial_lr'?)"));
  CHECK_THAT(msg, !Catch::Contains("+initial_lr"));
  // the rest of a dotted key, below the part that exists
  CHECK_THAT(error({"optimizer_params.momentum=0.5"}),
             Catch::Contains("(did you mean 'training_hyperparams.optimizer_params.momentum'?)"));
  CHECK_THAT(error({"training_hyperparams.nesterov=true"}),
             Catch::Contains("unknown key 'training_hyperparams.nesterov' (did you mean "
                             "'training_hyperparams.optimizer_params.nesterov'?)"));
  // every place it is, in document order
  CHECK_THAT(error({"dataset_params.num_workers=2"}),
             Catch::Contains("(did you mean 'dataset_params.train_dataloader_params.num_workers' or "
                             "'dataset_params.val_dataloader_params.num_workers'?)"));
  CHECK_THAT(error({"~nesterov"}), Catch::Contains("(did you mean 'training_hyperparams.optimizer_params.nesterov'?)"));
  // a key that is nowhere keeps the spelling hint, or the way to add it
  CHECK_THAT(error({"training_hyperparams.initial_rl=1"}), Catch::Contains("did you mean 'initial_lr'?"));
  CHECK_THAT(error({"completely_new=3"}), Catch::Contains("(use '+completely_new=...' to add a new key)"));
}

TEST_CASE_METHOD(Fixture, "+key=value adds a key, and only a new one") {
  sg::Recipe r = compose({"+training_hyperparams.new_key=7", "+brand.new.tree=[a, b]"});
  CHECK(r.get<int>("training_hyperparams.new_key") == 7);
  CHECK(r.get<std::vector<std::string>>("brand.new.tree") == std::vector<std::string>{"a", "b"});
  CHECK_THAT(error({"+training_hyperparams.max_epochs=3"}), Catch::Contains("already exists"));
  // ++ adds or replaces, without a type check
  CHECK(compose({"++training_hyperparams.max_epochs=abc"}).get<std::string>("training_hyperparams.max_epochs") ==
        "abc");
  CHECK(compose({"++fresh=1"}).get<int>("fresh") == 1);
}

TEST_CASE_METHOD(Fixture, "~key deletes a key") {
  sg::Recipe r = compose({"~training_hyperparams.lr_mode", "~experiment_name"});
  CHECK_FALSE(r.has("training_hyperparams.lr_mode"));
  CHECK_FALSE(r.has("experiment_name"));
  CHECK(r.has("training_hyperparams.max_epochs"));
  CHECK_THAT(error({"~training_hyperparams.nope"}), Catch::Contains("unknown key 'training_hyperparams.nope'"));
  CHECK_FALSE(compose({"~training_hyperparams.lr_mode=step"}).has("training_hyperparams.lr_mode"));
  CHECK_THAT(error({"~training_hyperparams.lr_mode=cosine"}), Catch::Contains("training_hyperparams.lr_mode"));
}

TEST_CASE_METHOD(Fixture, "a mapping override merges into the mapping") {
  sg::Recipe r = compose({"training_hyperparams.optimizer_params={nesterov: true, weight_decay: 0.01}"});
  CHECK(r.get<bool>("training_hyperparams.optimizer_params.nesterov"));
  CHECK(r.get<double>("training_hyperparams.optimizer_params.momentum") == Approx(0.9));
  CHECK(r.get<double>("training_hyperparams.optimizer_params.weight_decay") == Approx(0.01));
}

TEST_CASE_METHOD(Fixture, "SG's top-level shortcuts") {
  sg::Recipe r = compose({"epochs=3", "lr=0.5", "batch_size=16", "val_batch_size=32", "ema=true", "resume=True",
                          "num_workers=4"});
  check_shortcut_targets(r, 3, 0.5, 16, 32, 4);
  CHECK_FALSE(r.has("epochs"));
  CHECK_FALSE(r.has("lr"));
  // shortcuts are typed like their target
  CHECK_THAT(error({"epochs=many"}), Catch::Contains("training_hyperparams.max_epochs: expected an integer"));
  // the overrides are kept as given
  CHECK(r.overrides() == std::vector<std::string>{"epochs=3", "lr=0.5", "batch_size=16", "val_batch_size=32",
                                                  "ema=true", "resume=True", "num_workers=4"});
}

TEST_CASE_METHOD(Fixture, "a top-level key of the same name wins over the shortcut") {
  write("own.yaml", "defaults:\n  - training_hyperparams: train\nepochs: 1\n");
  sg::Recipe r = sg::compose_recipe({"own", {dir.path().string()}, {"epochs=9"}});
  CHECK(r.get<int>("epochs") == 9);
  CHECK(r.get<int>("training_hyperparams.max_epochs") == 10);
}

TEST_CASE_METHOD(Fixture, "overrides apply in order") {
  sg::Recipe r = compose({"epochs=3", "training_hyperparams.max_epochs=4"});
  CHECK(r.get<int>("training_hyperparams.max_epochs") == 4);
  sg::Recipe r2 = compose({"training_hyperparams.max_epochs=4", "epochs=3"});
  CHECK(r2.get<int>("training_hyperparams.max_epochs") == 3);
}

TEST_CASE_METHOD(Fixture, "list items can be addressed by index") {
  sg::Recipe r = compose({"training_hyperparams.lr_updates.1=175"});
  CHECK(r.get<std::vector<int64_t>>("training_hyperparams.lr_updates") == std::vector<int64_t>{100, 175});
  CHECK(r.get<int>("training_hyperparams.lr_updates.0") == 100);
  CHECK_THAT(error({"training_hyperparams.lr_updates.5=1"}), Catch::Contains("training_hyperparams.lr_updates.5"));
}

TEST_CASE_METHOD(Fixture, "typed getters name the key on errors") {
  sg::Recipe r = compose({});
  auto msg = [&](const std::function<void()>& f) {
    try {
      f();
    } catch (const sg::RecipeError& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  };
  CHECK_THAT(msg([&] { r.get<int>("training_hyperparams.nope"); }), Catch::Contains("training_hyperparams.nope"));
  CHECK_THAT(msg([&] { r.get<int>("training_hyperparams.lr_mode"); }),
             Catch::Contains("training_hyperparams.lr_mode: expected an integer, got 'step'"));
  CHECK_THAT(msg([&] { r.get<std::string>("training_hyperparams.clip_grad_norm"); }),
             Catch::Contains("training_hyperparams.clip_grad_norm: expected a string, got null"));
  CHECK_THAT(msg([&] { r.get<std::vector<double>>("training_hyperparams.metrics"); }),
             Catch::Contains("training_hyperparams.metrics.0: expected a number, got 'Accuracy'"));
  CHECK_THAT(msg([&] { r.node("x.y"); }), Catch::Contains("x.y"));
  CHECK(r.get_or<double>("training_hyperparams.clip_grad_norm", 5.0) == 5.0);
  CHECK(r.get_or<int>("training_hyperparams.absent", 11) == 11);
  CHECK(r.get_or<int>("training_hyperparams.max_epochs", 11) == 5);
  CHECK_THROWS_AS(r.get_or<int>("training_hyperparams.lr_mode", 1), sg::RecipeError);
  CHECK(r.get<int64_t>("training_hyperparams.max_epochs") == 5);
  CHECK(r.get<std::vector<double>>("training_hyperparams.lr_updates") == std::vector<double>{100, 150});
  CHECK(r.get<std::string>("training_hyperparams.max_epochs") == "5");
}

TEST_CASE("an override changes only the place it names, not the aliases of that place") {
  TempDir d;
  std::ofstream(d.file("shared.yaml")) << "a: {x: &p [1, 2], y: *p}\nb: &m {k: 1}\nc: *m\n";
  const sg::Recipe r = sg::compose_recipe({"shared", {d.path().string()}, {"a.x.0=5", "b.k=2"}});
  CHECK(r.get<std::vector<int64_t>>("a.x") == std::vector<int64_t>{5, 2});
  CHECK(r.get<std::vector<int64_t>>("a.y") == std::vector<int64_t>{1, 2});
  CHECK(r.get<int>("b.k") == 2);
  CHECK(r.get<int>("c.k") == 1);
}
