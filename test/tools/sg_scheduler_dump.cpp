// sg_scheduler_dump: our PyTorch-style LR schedulers, for test/python/test_torch_scheduler.py.
//
//   sg_scheduler_dump NAME PARAMS_JSON STEPS OUT.pth [options]
//       Builds scheduler NAME (one of sg::torch_scheduler_names()) with the constructor
//       arguments PARAMS_JSON (a JSON object, as Python's kwargs), steps it STEPS times and writes OUT.pth =
//         {"lrs": [lr after construction (or after --load), then after each step],
//          "momentums": [the same for OneCycleLR's or CyclicLR's cycled momentum, or None each],
//          "state_dict": the scheduler's state_dict() after the last step,
//          "param_group_entries": what the scheduler adds to param group 0}.
//   Options:
//     --base-lr X       the optimizer's lr (default 0.1)
//     --total-steps N   OneCycleLR total steps when PARAMS_JSON has none
//     --betas           the optimizer has betas (Adam): OneCycleLR cycles beta1
//     --metrics A,B,..  ReduceLROnPlateau: the metric passed to each step (STEPS values)
//     --load IN.pth     load_state_dict(IN.pth) before stepping (IN.pth is a state dict,
//                       or a dict whose "state_dict" is one, as OUT.pth)
//
//   sg_scheduler_dump --sg-policy HYPERPARAMS_JSON BATCHES OUT.pth
//       Reads SuperGradients' own schedule from training_hyperparams HYPERPARAMS_JSON (lr_mode,
//       warmup_mode, lr_warmup_epochs, ..., as read_training_config reads them) and writes
//       OUT.pth = {"lrs": [[the rate of each of the BATCHES batches] for each epoch],
//       "torch_scheduler": the PyTorch scheduler lr_mode names or "", "torch_scheduler_params": its argument names}.
//
// Exit codes: 0 written; 1 the scheduler (or the recipe) refused (message on stderr); 2 usage error.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "cli_numbers.hpp"
#include "pth/checkpoint.hpp"
#include "pth/value.hpp"
#include "sg/optim/torch_scheduler.hpp"
#include "train/schedule_config.hpp"

namespace {

std::vector<double> parse_list(const std::string& s) {
  std::vector<double> out;
  size_t pos = 0;
  while (pos <= s.size() && !s.empty()) {
    size_t comma = s.find(',', pos);
    if (comma == std::string::npos) comma = s.size();
    out.push_back(parse_double(s.substr(pos, comma - pos), "metric"));
    pos = comma + 1;
  }
  return out;
}

pth::Value momentum_value(const sg::TorchScheduler& s) {
  const auto m = s.momentum(0);
  return m ? pth::Value::floating(*m) : pth::Value::none();
}

YAML::Node parse_json(const std::string& text, const std::string& what) {
  try {
    return YAML::Load(text);
  } catch (const std::exception& e) {
    throw UsageError(what + ": " + e.what());
  }
}

int run_sg_policy(int argc, char** argv) {
  if (argc != 5) throw UsageError("usage: sg_scheduler_dump --sg-policy HYPERPARAMS_JSON BATCHES OUT.pth");
  const int64_t batches = parse_count(argv[3], "BATCHES");
  YAML::Node root;
  root["training_hyperparams"] = parse_json(argv[2], "HYPERPARAMS_JSON");
  const sg::Recipe recipe(root);
  sg::TrainingConfig config;
  pth::List epochs;
  try {
    config.max_epochs = recipe.get<int64_t>("training_hyperparams.max_epochs");
    sg::read_schedule(recipe, config);
    for (int64_t e = 0; e < config.max_epochs; ++e) {
      pth::List rates;
      for (int64_t b = 0; b < batches; ++b) rates.push_back(pth::Value::floating(config.lr.at(e, b, batches)));
      epochs.push_back(pth::Value::list(std::move(rates)));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sg_scheduler_dump: %s\n", e.what());
    return 1;
  }
  pth::List torch_params;
  for (const auto& entry : config.torch_scheduler_params) torch_params.push_back(pth::Value::string(entry.first));
  pth::Value out = pth::Value::dict();
  out.as_dict().set(pth::Value::string("lrs"), pth::Value::list(std::move(epochs)));
  out.as_dict().set(pth::Value::string("torch_scheduler"), pth::Value::string(config.torch_scheduler));
  out.as_dict().set(pth::Value::string("torch_scheduler_params"), pth::Value::list(std::move(torch_params)));
  pth::write_checkpoint(argv[4], out);
  return 0;
}

int run(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--sg-policy") return run_sg_policy(argc, argv);
  std::vector<std::string> pos;
  double base_lr = 0.1;
  int64_t total_steps = 0;
  bool betas = false;
  std::vector<double> metrics;
  std::string load_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError(a + " needs a value");
      return argv[++i];
    };
    if (a == "--base-lr") base_lr = parse_double(next(), "--base-lr");
    else if (a == "--total-steps") total_steps = parse_count(next(), "--total-steps");
    else if (a == "--betas") betas = true;
    else if (a == "--metrics") metrics = parse_list(next());
    else if (a == "--load") load_path = next();
    else if (a.size() > 1 && a[0] == '-' && a[1] == '-') throw UsageError("unknown option " + a);
    else pos.push_back(a);
  }
  if (pos.size() != 4) throw UsageError("usage: sg_scheduler_dump NAME PARAMS_JSON STEPS OUT.pth [options]");
  const std::string& name = pos[0];
  const int64_t steps = parse_count(pos[2], "STEPS");
  if (name == "ReduceLROnPlateau" && int64_t(metrics.size()) < steps)
    throw UsageError("ReduceLROnPlateau needs --metrics with at least STEPS values");

  const sg::TorchSchedulerParams params = sg::torch_scheduler_params_from_yaml(parse_json(pos[1], "PARAMS_JSON"));

  std::unique_ptr<sg::TorchScheduler> s;
  try {
    s = sg::make_torch_scheduler(name, params, base_lr, total_steps, betas);
    if (!load_path.empty()) {
      const pth::Checkpoint ck = pth::read_checkpoint(load_path);
      const pth::Value* inner = ck.root.is_dict() ? ck.root.as_dict().find("state_dict") : nullptr;
      s->load_state_dict(inner != nullptr ? *inner : ck.root);
    }
    pth::List lrs{pth::Value::floating(s->lr())};
    pth::List moms{momentum_value(*s)};
    for (int64_t i = 0; i < steps; ++i) {
      if (name == "ReduceLROnPlateau") s->step(metrics[size_t(i)]);
      else s->step();
      lrs.push_back(pth::Value::floating(s->lr()));
      moms.push_back(momentum_value(*s));
    }
    pth::Value entries = pth::Value::dict();
    for (auto& [k, v] : s->param_group_entries(0)) entries.as_dict().set(pth::Value::string(k), v);
    pth::Value root = pth::Value::dict();
    root.as_dict().set(pth::Value::string("lrs"), pth::Value::list(std::move(lrs)));
    root.as_dict().set(pth::Value::string("momentums"), pth::Value::list(std::move(moms)));
    root.as_dict().set(pth::Value::string("state_dict"), s->state_dict());
    root.as_dict().set(pth::Value::string("param_group_entries"), entries);
    pth::write_checkpoint(pos[3], root);
  } catch (const UsageError&) {
    throw;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sg_scheduler_dump: %s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {   // a UsageError too
    return print_error("sg_scheduler_dump", e);
  }
}
