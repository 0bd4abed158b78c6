// Recipe composition: defaults lists, _self_ placement, nested group defaults, group
// selection, missing files and cycles, and the recipes shipped in recipes/.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <fstream>

#include "recipe/recipe.hpp"
#include "recipe_files.hpp"
#include "temp_dir.hpp"

namespace {

void write(const TempDir& dir, const std::string& rel, const std::string& text) { dir.write(rel, text); }

sg::Recipe compose(const TempDir& dir, const std::string& name, std::vector<std::string> overrides = {}) {
  return sg::compose_recipe({name, {dir.path().string()}, std::move(overrides)});
}

std::string error_of(const std::function<void()>& f) { return error_message<sg::RecipeError>(f); }

}  // namespace

TEST_CASE("group defaults are placed under their group key") {
  TempDir d;
  write(d, "main.yaml",
        "defaults:\n  - training_hyperparams: base\n  - arch_params: small\n\nname: main\n");
  write(d, "training_hyperparams/base.yaml", "max_epochs: 3\ninitial_lr: 0.1\n");
  write(d, "arch_params/small.yaml", "num_classes: 7\n");
  sg::Recipe r = compose(d, "main");
  CHECK(r.get<int>("training_hyperparams.max_epochs") == 3);
  CHECK(r.get<double>("training_hyperparams.initial_lr") == Approx(0.1));
  CHECK(r.get<int>("arch_params.num_classes") == 7);
  CHECK(r.get<std::string>("name") == "main");
  CHECK_FALSE(r.has("defaults"));
  CHECK_FALSE(r.has("max_epochs"));
  // ".yaml" in the name is accepted
  CHECK(compose(d, "main.yaml").get<int>("arch_params.num_classes") == 7);
}

TEST_CASE("the file's own values override its defaults when _self_ is absent or last") {
  TempDir d;
  write(d, "g/opt.yaml", "a: 1\nb: 2\n");
  write(d, "implied.yaml", "defaults:\n  - g: opt\ng:\n  a: 10\n");
  write(d, "last.yaml", "defaults:\n  - g: opt\n  - _self_\ng:\n  a: 10\n");
  for (const char* name : {"implied", "last"}) {
    sg::Recipe r = compose(d, name);
    CHECK(r.get<int>("g.a") == 10);
    CHECK(r.get<int>("g.b") == 2);
  }
}

TEST_CASE("_self_ first lets the defaults override the file's own values") {
  TempDir d;
  write(d, "g/opt.yaml", "a: 1\nb: 2\n");
  write(d, "first.yaml", "defaults:\n  - _self_\n  - g: opt\ng:\n  a: 10\n  c: 5\n");
  sg::Recipe r = compose(d, "first");
  CHECK(r.get<int>("g.a") == 1);
  CHECK(r.get<int>("g.b") == 2);
  CHECK(r.get<int>("g.c") == 5);  // deep merge keeps keys only the file has
}

TEST_CASE("later defaults entries override earlier ones; lists and scalars replace") {
  TempDir d;
  write(d, "base.yaml", "x: {a: 1, list: [1, 2, 3], keep: k}\n");
  write(d, "more.yaml", "x: {a: 2, list: [9]}\n");
  write(d, "main.yaml", "defaults:\n  - base\n  - more\n");
  sg::Recipe r = compose(d, "main");
  CHECK(r.get<int>("x.a") == 2);
  CHECK(r.get<std::vector<int64_t>>("x.list") == std::vector<int64_t>{9});
  CHECK(r.get<std::string>("x.keep") == "k");
}

TEST_CASE("null values are kept and override earlier values") {
  TempDir d;
  write(d, "g/opt.yaml", "a: 1\nb: ~\n");
  write(d, "main.yaml", "defaults:\n  - g: opt\ng:\n  a: null\n");
  sg::Recipe r = compose(d, "main");
  CHECK(r.has("g.a"));
  CHECK(r.node("g.a").IsNull());
  CHECK(r.has("g.b"));
  CHECK(r.get_or<int>("g.a", 42) == 42);
}

TEST_CASE("group files compose their own defaults from the same group") {
  TempDir d;
  write(d, "training_hyperparams/default_train_params.yaml", "max_epochs: 10\nseed: 42\nlr_updates: []\n");
  write(d, "training_hyperparams/mine.yaml", "defaults:\n  - default_train_params\n\nmax_epochs: 250\n");
  write(d, "main.yaml", "defaults:\n  - training_hyperparams: mine\n");
  sg::Recipe r = compose(d, "main");
  CHECK(r.get<int>("training_hyperparams.max_epochs") == 250);
  CHECK(r.get<int>("training_hyperparams.seed") == 42);
  CHECK_FALSE(r.has("seed"));
  CHECK_FALSE(r.has("training_hyperparams.defaults"));
}

TEST_CASE("nested groups inside a group file go under the group's package") {
  TempDir d;
  write(d, "dataset_params/outer.yaml", "defaults:\n  - aug: strong\nname: outer\n");
  write(d, "dataset_params/aug/strong.yaml", "flip: true\n");
  write(d, "main.yaml", "defaults:\n  - dataset_params: outer\n");
  sg::Recipe r = compose(d, "main");
  CHECK(r.get<bool>("dataset_params.aug.flip"));
  CHECK(r.get<std::string>("dataset_params.name") == "outer");
}

TEST_CASE("config dirs are searched in order, first match wins, for recipes and group files") {
  TempDir user, builtin;
  write(builtin, "main.yaml", "defaults:\n  - g: opt\nwho: builtin\n");
  write(builtin, "g/opt.yaml", "v: builtin\n");
  write(builtin, "g/other.yaml", "v: builtin_other\n");
  write(user, "g/opt.yaml", "v: user\n");
  sg::Recipe r = sg::compose_recipe({"main", {user.path().string(), builtin.path().string()}, {}});
  CHECK(r.get<std::string>("who") == "builtin");
  CHECK(r.get<std::string>("g.v") == "user");

  write(user, "main.yaml", "defaults:\n  - g: other\nwho: user\n");
  sg::Recipe r2 = sg::compose_recipe({"main", {user.path().string(), builtin.path().string()}, {}});
  CHECK(r2.get<std::string>("who") == "user");
  CHECK(r2.get<std::string>("g.v") == "builtin_other");
}

TEST_CASE("a group=option override selects another defaults option") {
  TempDir d;
  write(d, "main.yaml", "defaults:\n  - dataset_params: a\n");
  write(d, "dataset_params/a.yaml", "root: /a\n");
  write(d, "dataset_params/b.yaml", "root: /b\n");
  sg::Recipe r = compose(d, "main", {"dataset_params=b"});
  CHECK(r.get<std::string>("dataset_params.root") == "/b");
  CHECK(r.overrides() == std::vector<std::string>{"dataset_params=b"});
  CHECK_THAT(error_of([&] { compose(d, "main", {"dataset_params=zzz"}); }), Catch::Contains("dataset_params/zzz.yaml"));
}

TEST_CASE("a missing recipe names the file and the folders searched") {
  TempDir a, b;
  std::string msg = error_of([&] { sg::compose_recipe({"foo", {a.path().string(), b.path().string()}, {}}); });
  CHECK_THAT(msg, Catch::Contains("recipe 'foo' not found"));
  CHECK_THAT(msg, Catch::Contains("foo.yaml"));
  CHECK_THAT(msg, Catch::Contains(a.path().string()));
  CHECK_THAT(msg, Catch::Contains(b.path().string()));
}

TEST_CASE("a missing group file names the group file and the recipe that asked for it") {
  TempDir d;
  write(d, "main.yaml", "defaults:\n  - arch_params: nope\n");
  std::string msg = error_of([&] { compose(d, "main"); });
  CHECK_THAT(msg, Catch::Contains("arch_params/nope.yaml"));
  CHECK_THAT(msg, Catch::Contains("main.yaml"));

  write(d, "training_hyperparams/t.yaml", "defaults:\n  - missing_base\n");
  write(d, "main2.yaml", "defaults:\n  - training_hyperparams: t\n");
  CHECK_THAT(error_of([&] { compose(d, "main2"); }), Catch::Contains("training_hyperparams/missing_base.yaml"));
}

TEST_CASE("optional group entries may be missing; null options select nothing") {
  TempDir d;
  write(d, "main.yaml", "defaults:\n  - optional extra: none\n  - g: null\nx: 1\n");
  sg::Recipe r = compose(d, "main");
  CHECK(r.get<int>("x") == 1);
  CHECK_FALSE(r.has("extra"));
  CHECK_FALSE(r.has("g"));
}

TEST_CASE("include cycles are detected") {
  TempDir d;
  write(d, "a.yaml", "defaults:\n  - b\n");
  write(d, "b.yaml", "defaults:\n  - a\n");
  std::string msg = error_of([&] { compose(d, "a"); });
  CHECK_THAT(msg, Catch::Contains("cycle"));
  CHECK_THAT(msg, Catch::Contains("a.yaml"));

  write(d, "g/self.yaml", "defaults:\n  - self\n");
  write(d, "c.yaml", "defaults:\n  - g: self\n");
  CHECK_THAT(error_of([&] { compose(d, "c"); }), Catch::Contains("cycle"));
}

TEST_CASE("the same file may be used twice without being a cycle") {
  TempDir d;
  write(d, "shared.yaml", "s: 1\n");
  write(d, "x.yaml", "defaults:\n  - shared\n");
  write(d, "main.yaml", "defaults:\n  - shared\n  - x\n");
  CHECK(compose(d, "main").get<int>("s") == 1);
}

TEST_CASE("malformed recipe files are errors naming the file") {
  TempDir d;
  write(d, "bad.yaml", "a: [1, 2\n");
  CHECK_THAT(error_of([&] { compose(d, "bad"); }), Catch::Contains("bad.yaml"));
  write(d, "scalar.yaml", "just text\n");
  CHECK_THAT(error_of([&] { compose(d, "scalar"); }), Catch::Contains("scalar.yaml"));
  write(d, "baddefaults.yaml", "defaults: nope\n");
  CHECK_THAT(error_of([&] { compose(d, "baddefaults"); }), Catch::Contains("defaults"));
  write(d, "empty.yaml", "");
  CHECK(compose(d, "empty").root().IsMap());
}

TEST_CASE("builtin_recipes_dir honours SG_RECIPES_DIR") {
  const char* old = std::getenv("SG_RECIPES_DIR");
  std::string saved = old ? old : "";
  ::unsetenv("SG_RECIPES_DIR");
  std::string source = sg::builtin_recipes_dir();
  CHECK(std::filesystem::exists(std::filesystem::path(source) / "fashion_mnist_resnet.yaml"));
  ::setenv("SG_RECIPES_DIR", "/some/where", 1);
  CHECK(sg::builtin_recipes_dir() == "/some/where");
  if (old)
    ::setenv("SG_RECIPES_DIR", saved.c_str(), 1);
  else
    ::unsetenv("SG_RECIPES_DIR");
}

// ---- the recipes shipped in recipes/ ----

namespace {

sg::Recipe shipped(const std::string& name, std::vector<std::string> overrides = {}) {
  return sg::compose_recipe({name, {sg::builtin_recipes_dir()}, std::move(overrides)});
}

const std::vector<std::string> kTrainKeys = {
    "resume", "run_id", "resume_path", "ckpt_name", "load_opt_params", "resume_strict_load", "max_epochs",
    "initial_lr", "lr_mode", "lr_updates", "lr_decay_factor", "cosine_final_lr_ratio", "lr_warmup_epochs",
    "warmup_initial_lr", "optimizer", "optimizer_params", "optimizer_params.momentum", "optimizer_params.nesterov",
    "optimizer_params.weight_decay", "optimizer_params.betas", "optimizer_params.eps", "loss", "criterion_params",
    "criterion_params.smooth_eps", "train_metrics_list", "valid_metrics_list", "metric_to_watch",
    "greater_metric_to_watch_is_better", "run_validation_freq", "save_model", "ckpt_best_name",
    "save_ckpt_epoch_list", "average_best_models", "ema", "ema_params.decay", "ema_params.decay_type",
    "ema_params.beta", "mixed_precision", "seed", "max_train_batches", "max_valid_batches", "batch_accumulate",
    "clip_grad_norm", "device", "num_threads", "sg_logger_params.save_checkpoints_remote"};

const std::vector<std::string> kCheckpointKeys = {"load_checkpoint",    "load_backbone",
                                                  "checkpoint_path",    "strict_load",
                                                  "pretrained_weights", "checkpoint_num_classes"};

const std::vector<std::string> kDatasetKeys = {"dataset",
                                               "root",
                                               "train_dataloader_params.batch_size",
                                               "train_dataloader_params.shuffle",
                                               "train_dataloader_params.drop_last",
                                               "train_dataloader_params.num_workers",
                                               "val_dataloader_params.batch_size",
                                               "val_dataloader_params.shuffle",
                                               "val_dataloader_params.num_workers",
                                               "transforms.crop_padding",
                                               "transforms.horizontal_flip",
                                               "transforms.mean",
                                               "transforms.std",
                                               "synthetic.train_size",
                                               "synthetic.val_size",
                                               "synthetic.image_size",
                                               "synthetic.channels",
                                               "synthetic.num_classes"};

void check_common_keys(const sg::Recipe& r) {
  for (const auto& k : kTrainKeys) {
    INFO("training_hyperparams." << k);
    CHECK(r.has("training_hyperparams." + k));
  }
  for (const auto& k : kCheckpointKeys) {
    INFO("checkpoint_params." << k);
    CHECK(r.has("checkpoint_params." + k));
  }
  for (const auto& k : kDatasetKeys) {
    INFO("dataset_params." << k);
    CHECK(r.has("dataset_params." + k));
  }
  for (const char* k : {"architecture", "experiment_name", "ckpt_root_dir", "arch_params.num_classes",
                        "arch_params.in_channels"}) {
    INFO(k);
    CHECK(r.has(k));
  }
  // SG's defaults
  CHECK_FALSE(r.get<bool>("training_hyperparams.resume"));
  CHECK(r.get<std::string>("training_hyperparams.ckpt_name") == "ckpt_latest.pth");
  CHECK(r.get<std::string>("training_hyperparams.ckpt_best_name") == "ckpt_best.pth");
  CHECK(r.get<std::string>("training_hyperparams.metric_to_watch") == "Accuracy");
  CHECK(r.get<bool>("training_hyperparams.greater_metric_to_watch_is_better"));
  CHECK(r.get<bool>("training_hyperparams.save_model"));
  CHECK(r.get<bool>("training_hyperparams.average_best_models"));
  CHECK(r.get<bool>("training_hyperparams.load_opt_params"));
  CHECK_FALSE(r.get<bool>("training_hyperparams.resume_strict_load"));
  CHECK_FALSE(r.get<bool>("training_hyperparams.ema"));
  CHECK(r.get<double>("training_hyperparams.ema_params.decay") == Approx(0.9999));
  CHECK(r.get<std::string>("training_hyperparams.ema_params.decay_type") == "exp");
  CHECK(r.get<double>("training_hyperparams.ema_params.beta") == Approx(15));
  CHECK_FALSE(r.get<bool>("training_hyperparams.mixed_precision"));
  CHECK(r.get<int>("training_hyperparams.run_validation_freq") == 1);
  CHECK(r.get<int>("training_hyperparams.batch_accumulate") == 1);
  CHECK(r.get<std::vector<std::string>>("training_hyperparams.valid_metrics_list") ==
        std::vector<std::string>{"Accuracy", "Top5"});
  CHECK_FALSE(r.get<bool>("training_hyperparams.sg_logger_params.save_checkpoints_remote"));
  CHECK_FALSE(r.get<bool>("checkpoint_params.load_checkpoint"));
  CHECK_FALSE(r.get<bool>("checkpoint_params.load_backbone"));
  CHECK(r.node("checkpoint_params.checkpoint_path").IsNull());
  CHECK(r.get<std::string>("checkpoint_params.strict_load") == "no_key_matching");
  CHECK(r.node("checkpoint_params.pretrained_weights").IsNull());
  CHECK(r.node("checkpoint_params.checkpoint_num_classes").IsNull());
  CHECK(r.get_or<std::string>("ckpt_root_dir", "./checkpoints") == "./checkpoints");
  // mean and std have a value for every channel, or one for all
  const auto channels = r.get<int>("arch_params.in_channels");
  const auto mean = r.get<std::vector<double>>("dataset_params.transforms.mean");
  const auto std = r.get<std::vector<double>>("dataset_params.transforms.std");
  CHECK((mean.size() == 1 || static_cast<int>(mean.size()) == channels));
  CHECK(mean.size() == std.size());
}

}  // namespace

TEST_CASE("shipped recipe fashion_mnist_resnet composes with the expected values") {
  sg::Recipe r = shipped("fashion_mnist_resnet");
  check_common_keys(r);
  CHECK(r.get<std::string>("architecture") == "resnet_mini");
  CHECK(r.get<std::string>("experiment_name") == "fashion_mnist_resnet");
  CHECK(r.get<std::string>("dataset_params.dataset") == "fashion_mnist");
  CHECK(r.get<std::string>("dataset_params.root") == "/usr/share/datasets/fashion-mnist");
  CHECK(r.get<std::string>("dataset_params.train_images") == "train-images-idx3-ubyte.gz");
  CHECK(r.get<std::string>("dataset_params.val_labels") == "t10k-labels-idx1-ubyte.gz");
  CHECK(r.get<int>("arch_params.in_channels") == 1);
  CHECK(r.get<int>("arch_params.num_classes") == 10);
  CHECK(r.get<int>("training_hyperparams.max_epochs") == 5);
  CHECK(r.get<std::string>("training_hyperparams.lr_mode") == "CosineLRScheduler");
  CHECK(r.get<std::string>("training_hyperparams.optimizer") == "SGD");
  CHECK(r.get<bool>("training_hyperparams.optimizer_params.nesterov"));
  CHECK(r.get<double>("training_hyperparams.optimizer_params.weight_decay") == Approx(5e-4));
  CHECK(r.get<std::string>("training_hyperparams.loss") == "LabelSmoothingCrossEntropyLoss");
  CHECK(r.get<double>("training_hyperparams.criterion_params.smooth_eps") == Approx(0.1));
  CHECK(r.get<int>("dataset_params.train_dataloader_params.batch_size") == 128);
}

TEST_CASE("shipped recipe cifar10_resnet is SG's") {
  sg::Recipe r = shipped("cifar10_resnet");
  check_common_keys(r);
  CHECK(r.get<std::string>("architecture") == "resnet18_cifar");
  CHECK(r.get<std::string>("experiment_name") == "cifar10_resnet");
  CHECK(r.get<std::string>("dataset_params.dataset") == "cifar10");
  CHECK(r.node("dataset_params.root").IsNull());
  CHECK(r.get<int>("training_hyperparams.max_epochs") == 250);
  CHECK(r.get<double>("training_hyperparams.initial_lr") == Approx(0.1));
  CHECK(r.get<std::string>("training_hyperparams.lr_mode") == "StepLRScheduler");
  CHECK(r.get<std::vector<int64_t>>("training_hyperparams.lr_updates") == std::vector<int64_t>{100, 150, 200});
  CHECK(r.get<double>("training_hyperparams.lr_decay_factor") == Approx(0.1));
  CHECK(r.get<double>("training_hyperparams.optimizer_params.momentum") == Approx(0.9));
  CHECK(r.get<int>("dataset_params.transforms.crop_padding") == 4);
  CHECK(r.get<bool>("dataset_params.transforms.horizontal_flip"));
  CHECK(r.get<std::vector<double>>("dataset_params.transforms.mean").size() == 3);
  CHECK(r.get<int>("arch_params.num_classes") == 10);
}

TEST_CASE("shipped recipe test_tiny is small") {
  sg::Recipe r = shipped("test_tiny");
  check_common_keys(r);
  CHECK(r.get<std::string>("dataset_params.dataset") == "synthetic");
  CHECK(r.get<int>("dataset_params.synthetic.image_size") <= 16);
  CHECK(r.get<int>("dataset_params.synthetic.channels") == r.get<int>("arch_params.in_channels"));
  CHECK(r.get<int>("dataset_params.synthetic.num_classes") == r.get<int>("arch_params.num_classes"));
  CHECK(r.get<int>("training_hyperparams.max_epochs") == 2);
  CHECK(r.get<int>("training_hyperparams.max_train_batches") <= 5);
  CHECK(r.get<bool>("training_hyperparams.average_best_models"));
  CHECK(r.get<std::string>("architecture") == "resnet_mini");
}

TEST_CASE("shipped recipes accept the SG shortcuts") {
  for (const char* name : {"fashion_mnist_resnet", "cifar10_resnet", "test_tiny"}) {
    INFO(name);
    sg::Recipe r = shipped(name, {"epochs=3", "lr=0.01", "batch_size=32", "val_batch_size=64", "ema=true",
                                  "resume=true", "num_workers=2", "ckpt_root_dir=/tmp/x", "experiment_name=e"});
    check_shortcut_targets(r, 3, 0.01, 32, 64, 2);
    CHECK(r.get<std::string>("ckpt_root_dir") == "/tmp/x");
    CHECK(r.get<std::string>("experiment_name") == "e");
  }
}

TEST_CASE("unread_keys: the leaves nothing read, references and reads counted") {
  TempDir d;
  write(d, "main.yaml",
        "mean: [0.5]\na:\n  b: 1\n  c: {d: 2, e: 3}\n  f: ${mean}\n  g: {}\nh: null\n");
  sg::Recipe r = compose(d, "main", {"+extra.key=True"});
  using V = std::vector<std::string>;
  // mean went into a.f through its reference: read.
  CHECK(r.unread_keys() == V{"a.b", "a.c.d", "a.c.e", "a.f", "a.g", "h", "extra.key"});
  r.get<int>("a.b");
  r.get_or<int>("a.missing", 0);
  r.node("a.c");                       // a whole subtree
  CHECK(r.unread_keys() == V{"a.f", "a.g", "h", "extra.key"});
  const sg::Recipe copy = r;            // copies share the record
  copy.get_or<bool>("extra.key", false);
  CHECK(r.unread_keys() == V{"a.f", "a.g", "h"});
  // A recipe not made by compose_recipe (a stored one has lost its references) lists none.
  CHECK(sg::Recipe(YAML::Load("x: 1")).unread_keys().empty());
}
