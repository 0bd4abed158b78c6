// torch before Catch2: glog (through torch) also defines CHECK.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "recipe/recipe.hpp"
#include "recipe/run_dir.hpp"
#include "recipe/run_errors.hpp"
#include "sg/checkpoint/sg_checkpoint.hpp"
#include "sg/eval/metrics.hpp"
#include "sg/optim/optimizer.hpp"
#include "sg/train/append_file.hpp"
#include "sg/train/tensorboard.hpp"
#include "sg/train/training.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

TEST_CASE("accuracy and top-5 count hits over the epoch, loss is the sample mean") {
  sg::MetricAccumulator m({"Accuracy", "Top5"}, "CrossEntropyLoss");
  // Rows: true class ranked 1st, 2nd, 7th of 7.
  torch::Tensor logits = torch::tensor({{9., 1., 2., 3., 4., 5., 6.}, {1., 9., 8., 2., 3., 4., 5.}, {9., 8., 7., 6., 5., 4., 0.}});
  m.add(logits.slice(0, 0, 2), torch::tensor({0, 2}, torch::kInt64), 1.0);
  m.add(logits.slice(0, 2, 3), torch::tensor({6}, torch::kInt64), 4.0);
  auto v = m.values();
  CHECK(v["Accuracy"] == Approx(1.0 / 3));
  CHECK(v["Top5"] == Approx(2.0 / 3));
  CHECK(v["CrossEntropyLoss"] == Approx(2.0));
  CHECK_THROWS_AS(sg::MetricAccumulator({"F1"}, "x"), std::invalid_argument);
}

TEST_CASE("optimizer state dict has PyTorch's layout and restores momentum") {
  torch::manual_seed(0);
  torch::nn::Linear model(3, 2);
  sg::OptimizerConfig c;
  c.name = "SGD";
  c.lr = 0.1;
  c.momentum = 0.9;
  c.nesterov = true;
  sg::Optimizer opt(c, model->parameters());
  model->forward(torch::randn({4, 3})).sum().backward();
  opt.get().step();
  pth::Value saved = opt.state_dict();
  const auto& group = saved.as_dict().find("param_groups")->items()[0].as_dict();
  for (const char* key : {"lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize", "foreach",
                          "differentiable", "params"})
    CHECK(group.find(key) != nullptr);
  CHECK(group.find("params")->items().size() == 2);
  const auto& state = saved.as_dict().find("state")->as_dict();
  REQUIRE(state.items.size() == 2);
  CHECK(state.items[0].first.as_int() == 0);

  torch::nn::Linear other(3, 2);
  sg::Optimizer restored(c, other->parameters());
  restored.load_state_dict(saved);
  auto& s = static_cast<torch::optim::SGDParamState&>(
      *restored.get().state().at(c10::guts::to_string(other->weight.unsafeGetTensorImpl())));
  auto& original = static_cast<torch::optim::SGDParamState&>(
      *opt.get().state().at(c10::guts::to_string(model->weight.unsafeGetTensorImpl())));
  CHECK(torch::equal(s.momentum_buffer(), original.momentum_buffer()));

  torch::nn::Linear wrong(4, 2);
  sg::Optimizer mismatched(c, wrong->parameters());
  CHECK_THROWS_WITH(mismatched.load_state_dict(saved), Catch::Contains("shape"));
}

TEST_CASE("Adam state carries step, exp_avg and exp_avg_sq") {
  torch::nn::Linear model(2, 1);
  sg::OptimizerConfig c;
  c.name = "AdamW";
  c.lr = 0.01;
  sg::Optimizer opt(c, model->parameters());
  for (int i = 0; i < 3; ++i) {
    opt.get().zero_grad();
    model->forward(torch::ones({1, 2})).sum().backward();
    opt.get().step();
  }
  const pth::Value saved = opt.state_dict();
  const auto& entry = saved.as_dict().find("state")->as_dict().items[0].second.as_dict();
  REQUIRE(entry.find("step"));
  CHECK(entry.find("step")->is_tensor());
  CHECK(entry.find("exp_avg")->as_tensor()->shape == std::vector<int64_t>{1, 2});
  CHECK(entry.find("exp_avg_sq"));
  const auto& group = saved.as_dict().find("param_groups")->items()[0].as_dict();
  CHECK(group.find("betas")->kind() == pth::Value::Kind::Tuple);
}

TEST_CASE("run ids, run directories and the latest run") {
  TempDir dir;
  CHECK(sg::is_run_id(sg::make_run_id()));
  CHECK(sg::make_run_id().size() == std::string("RUN_20230802_131052_651906").size());
  const std::string a = sg::RunDirectory::create(dir.path().string(), "exp").path();
  const std::string b = sg::RunDirectory::create(dir.path().string(), "exp").path();
  CHECK(a != b);
  CHECK_FALSE(sg::find_latest_run(dir.path().string(), "exp").has_value());
  std::ofstream(a + "/ckpt_latest.pth") << "x";
  CHECK(sg::find_latest_run(dir.path().string(), "exp") == a);
  std::ofstream(b + "/ckpt_latest.pth") << "x";
  CHECK(sg::find_latest_run(dir.path().string(), "exp") == std::max(a, b));
  CHECK_FALSE(sg::find_latest_run(dir.path().string(), "exp", "ckpt_best.pth").has_value());
}

TEST_CASE("the run a job started is found by the job its holder recorded") {
  TempDir dir;
  const std::string root = dir.path().string();
  const std::string first = sg::RunDirectory::create(root, "exp", "vm:100").path();
  const std::string other = sg::RunDirectory::create(root, "exp", "vm:1000").path();
  const std::string alone = sg::RunDirectory::create(root, "exp").path();
  CHECK(sg::find_run_of_job(root, "exp", "vm:100") == first);   // not vm:1000's, which ends the same
  CHECK(sg::find_run_of_job(root, "exp", "vm:1000") == other);
  CHECK_FALSE(sg::find_run_of_job(root, "exp", "vm:10").has_value());
  CHECK_FALSE(sg::find_run_of_job(root, "other", "vm:100").has_value());
  {
    const sg::RunDirectory held = sg::RunDirectory::open(alone);
    held.record_holder("vm:100");   // a restarted job records itself again
  }
  CHECK(sg::find_run_of_job(root, "exp", "vm:100") == std::max(first, alone));
}

TEST_CASE("a run directory is held by one process at a time") {
  TempDir dir;
  std::string path;
  {
    const sg::RunDirectory run = sg::RunDirectory::create(dir.path().string(), "exp");
    path = run.path();
    // A second holder (another open of the lock, as another process would make) is refused.
    CHECK_THROWS_AS(sg::RunDirectory::open(path), sg::RunInUseError);
    CHECK_THROWS_WITH(sg::RunDirectory::open(path),
                      Catch::Contains("is in use by") && Catch::Contains("pid " + std::to_string(::getpid())));
  }
  // Released with the last copy of the handle.
  CHECK_NOTHROW(sg::RunDirectory::open(path));
}

TEST_CASE("a run directory removes what killed writers left, in its sub-folders too, and follows no link") {
  TempDir dir, outside;
  const sg::RunDirectory run = sg::RunDirectory::create(dir.path().string(), "exp");
  const pth::Folder averaging = run.subfolder("averaging");
  // No process has pid 99999999 (above any pid_max), so these writers are gone.
  std::ofstream(run.path() + "/.ckpt_latest.pth.tmp-99999999-0") << "partial";
  std::ofstream(averaging.path() + "/.snapshot_3.pth.tmp-99999999-7") << "partial";
  const std::string mine = run.path() + "/.ckpt_best.pth.tmp-" + std::to_string(::getpid()) + "-0";
  std::ofstream(mine) << "in flight";
  std::ofstream(outside.path() / ".victim.tmp-99999999-1") << "not ours";
  fs::create_directory_symlink(outside.path(), run.path() + "/linked");
  run.remove_leftover_temp_files();
  CHECK_FALSE(fs::exists(run.path() + "/.ckpt_latest.pth.tmp-99999999-0"));
  CHECK_FALSE(fs::exists(averaging.path() + "/.snapshot_3.pth.tmp-99999999-7"));
  CHECK(fs::exists(mine));                                            // a live writer's
  CHECK(fs::exists(outside.path() / ".victim.tmp-99999999-1"));       // behind a link

  fs::remove(run.path() + "/linked");
  fs::create_directory_symlink(outside.path(), run.path() + "/hydra_link");
  CHECK_THROWS_WITH(run.folder().child("hydra_link", true), Catch::Contains("symbolic link"));
}

TEST_CASE("CRC-32C of the standard check string") {
  CHECK(sg::crc32c("123456789", 9) == 0xE3069283u);
}

TEST_CASE("SG checkpoint keys") {
  sg::CheckpointContents c;
  c.net = {{"w", torch::ones({2})}};
  c.acc = 0.5;
  c.epoch = 3;
  c.metrics.tracked_metric_name = "Accuracy";
  c.metrics.valid = {{"Accuracy", 0.5}};
  pth::Value v = sg::make_sg_checkpoint(c);
  std::vector<std::string> keys;
  for (const auto& [k, _] : v.as_dict().items) keys.push_back(k.as_string());
  CHECK(keys == std::vector<std::string>{"net", "acc", "epoch", "metrics", "packages", "_best_ckpt_metrics",
                                         "optimizer_state_dict", "scaler_state_dict"});
  CHECK(v.as_dict().find("_best_ckpt_metrics")->is_none());
  CHECK(v.as_dict().find("net")->as_dict().ordered);
}

TEST_CASE("AppendFile writes whole records and never through a link") {
  TempDir dir, outside;
  std::ofstream(outside.path() / "victim") << "theirs";
  fs::create_symlink(outside.path() / "victim", dir.path() / "log.txt");
  const pth::Folder folder = pth::Folder::open(dir.path().string());
  CHECK_THROWS_WITH(sg::AppendFile(folder, "log.txt", sg::AppendFile::Mode::Append), Catch::Contains("symbolic link"));
  CHECK_THROWS_AS(sg::AppendFile(folder, "log.txt", sg::AppendFile::Mode::CreateNew), sg::RunWriteError);
  CHECK(fs::file_size(outside.path() / "victim") == 6);

  sg::AppendFile file(folder, "events", sg::AppendFile::Mode::CreateNew);
  file.append(std::string(100, 'a'));
  // Past RLIMIT_FSIZE write() fails (EFBIG) once SIGXFSZ no longer kills us: a record that
  // does not fit is cut back, so the file still ends on the last whole record.
  struct rlimit old;
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old) == 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old;
  small.rlim_cur = 150;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &small) == 0);
  bool no_space = false;
  std::string message;
  try {
    file.append(std::string(100, 'b'));
  } catch (const sg::RunWriteError& e) {
    no_space = e.no_space();
    message = e.what();
  }
  ::setrlimit(RLIMIT_FSIZE, &old);
  ::signal(SIGXFSZ, old_handler);
  CHECK(no_space);
  CHECK_THAT(message, Catch::StartsWith("cannot write " + file.path() + ": File too large"));
  CHECK(fs::file_size(dir.path() / "events") == 100);
  file.append("c");
  CHECK(fs::file_size(dir.path() / "events") == 101);
}

TEST_CASE("a run stores its recipe in .hydra atomically, and not through a link") {
  TempDir dir, outside;
  const sg::RunDirectory run = sg::RunDirectory::create(dir.path().string(), "exp");
  const sg::Recipe recipe = sg::compose_recipe({"test_tiny", {sg::builtin_recipes_dir()}, {"epochs=3"}});
  run.store_recipe(recipe);
  CHECK(names_in(run.path() + "/.hydra") == std::vector<std::string>{"config.yaml", "overrides.yaml"});
  CHECK(sg::load_stored_recipe(run.path()).get<int>("training_hyperparams.max_epochs") == 3);

  fs::rename(run.path() + "/.hydra", run.path() + "/hydra.real");
  fs::create_directory_symlink(outside.path(), run.path() + "/.hydra");
  CHECK_THROWS_WITH(run.store_recipe(recipe), Catch::Contains(".hydra") && Catch::Contains("symbolic link"));
  CHECK(fs::is_empty(outside.path()));
}

TEST_CASE("SG's multi_gpu and num_gpus decide how many workers sg-train starts itself") {
  const auto workers = [](std::vector<std::string> overrides) {
    return sg::workers_to_start(sg::compose_recipe({"test_tiny", {sg::builtin_recipes_dir()}, std::move(overrides)}));
  };
  CHECK(workers({}) == 0);
  CHECK(workers({"+multi_gpu=DDP", "+num_gpus=3"}) == 3);
  CHECK(workers({"+multi_gpu=AUTO", "+num_gpus=2"}) == 2);
  CHECK(workers({"+multi_gpu=DDP", "+num_gpus=1"}) == 0);
  CHECK(workers({"+multi_gpu=AUTO"}) == 0);
  CHECK_THROWS_WITH(workers({"+multi_gpu=DDP"}), Catch::Contains("needs num_gpus: N"));
  CHECK_THROWS_WITH(workers({"+multi_gpu=DP", "+num_gpus=2"}), Catch::Contains("DataParallel is not implemented"));
  CHECK_THROWS_WITH(workers({"+multi_gpu=Off", "+num_gpus=2"}), Catch::Contains("Off trains one process"));
  // A torchrun worker never starts workers: torchrun's WORLD_SIZE decides.
  const std::vector<std::pair<const char*, const char*>> torchrun = {
      {"RANK", "0"}, {"LOCAL_RANK", "0"}, {"WORLD_SIZE", "2"}, {"LOCAL_WORLD_SIZE", "2"},
      {"MASTER_ADDR", "127.0.0.1"}, {"MASTER_PORT", "29500"}};
  for (const auto& [name, value] : torchrun) ::setenv(name, value, 1);
  CHECK(workers({"+multi_gpu=DDP", "+num_gpus=3"}) == 0);
  for (const auto& [name, value] : torchrun) ::unsetenv(name);
}
