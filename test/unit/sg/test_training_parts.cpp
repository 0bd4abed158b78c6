// torch before Catch2: glog (through torch) also defines CHECK.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "sg/lr_schedule.hpp"
#include "sg/metrics.hpp"
#include "sg/optimizer.hpp"
#include "sg/run_dir.hpp"
#include "sg/sg_checkpoint.hpp"
#include "sg/tensorboard.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

TEST_CASE("step schedule multiplies at each listed epoch, after a linear epoch warm-up") {
  sg::LrSchedule s;
  s.mode = "StepLRScheduler";
  s.initial_lr = 0.1;
  s.lr_updates = {3, 5};
  s.lr_decay_factor = 0.5;
  s.max_epochs = 8;
  CHECK(s.at(0, 0, 10) == Approx(0.1));
  CHECK(s.at(2, 9, 10) == Approx(0.1));
  CHECK(s.at(3, 0, 10) == Approx(0.05));
  CHECK(s.at(5, 0, 10) == Approx(0.025));
  s.warmup_epochs = 2;
  CHECK(s.at(0, 5, 10) == Approx(0.1 / 3));            // SG: initial_lr / (warmup + 1)
  CHECK(s.at(1, 5, 10) == Approx(0.1 / 3 + (0.1 - 0.1 / 3) / 2));
  CHECK(s.at(2, 0, 10) == Approx(0.1));
}

TEST_CASE("cosine schedule runs per step from the initial rate to the final ratio") {
  sg::LrSchedule s;
  s.mode = "CosineLRScheduler";
  s.initial_lr = 0.2;
  s.cosine_final_lr_ratio = 0.1;
  s.max_epochs = 4;
  CHECK(s.at(0, 0, 10) == Approx(0.2));
  CHECK(s.at(2, 0, 10) == Approx(0.02 + 0.18 * 0.5));  // half way
  CHECK(s.at(3, 9, 10) < s.at(3, 8, 10));
  CHECK(s.at(3, 9, 10) > 0.02);
  s.mode = "Exponential";
  CHECK_THROWS_AS(s.at(0, 0, 10), std::invalid_argument);
}

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
  const std::string a = sg::create_run_dir(dir.path().string(), "exp");
  const std::string b = sg::create_run_dir(dir.path().string(), "exp");
  CHECK(a != b);
  CHECK_FALSE(sg::find_latest_run(dir.path().string(), "exp").has_value());
  std::ofstream(a + "/ckpt_latest.pth") << "x";
  CHECK(sg::find_latest_run(dir.path().string(), "exp") == a);
  std::ofstream(b + "/ckpt_latest.pth") << "x";
  CHECK(sg::find_latest_run(dir.path().string(), "exp") == std::max(a, b));
  CHECK_FALSE(sg::find_latest_run(dir.path().string(), "exp", "ckpt_best.pth").has_value());

  std::ofstream(a + "/.ckpt_latest.pth.tmp-123-0") << "partial";
  sg::remove_stale_temp_files(a);
  CHECK_FALSE(fs::exists(a + "/.ckpt_latest.pth.tmp-123-0"));
  CHECK(fs::exists(a + "/ckpt_latest.pth"));
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
  CHECK(keys == std::vector<std::string>{"net", "acc", "epoch", "metrics", "_best_ckpt_metrics", "optimizer_state_dict",
                                         "scaler_state_dict"});
  CHECK(v.as_dict().find("_best_ckpt_metrics")->is_none());
  CHECK(v.as_dict().find("net")->as_dict().ordered);
}
