#include "sg/checkpoint/sg_checkpoint.hpp"

#include "pth/sg_layout.hpp"

namespace sg {
namespace {

pth::Value values_to_pth(const MetricValues& values) {
  pth::Value d = pth::Value::dict();
  for (const auto& [name, value] : values) d.as_dict().set(name, pth::Value::floating(value));
  return d;
}

}  // namespace

pth::Value metrics_to_pth(const EpochMetrics& m) {
  pth::Value d = pth::Value::dict();
  d.as_dict().set("tracked_metric_name", pth::Value::string(m.tracked_metric_name));
  d.as_dict().set("valid", values_to_pth(m.valid));
  d.as_dict().set("train", values_to_pth(m.train));
  return d;
}

pth::Value make_sg_checkpoint(const CheckpointContents& c) {
  pth::Value root = pth::Value::dict();
  auto& d = root.as_dict();
  d.set(pth::sg_keys::kNet, to_pth_state_dict(c.net));
  d.set(pth::sg_keys::kAcc, pth::Value::floating(c.acc));
  d.set(pth::sg_keys::kEpoch, pth::Value::integer(c.epoch));
  d.set(pth::sg_keys::kMetrics, metrics_to_pth(c.metrics));
  d.set(pth::sg_keys::kPackages, c.packages);
  d.set(pth::sg_keys::kBestCkptMetrics, c.best_metrics ? metrics_to_pth(*c.best_metrics) : pth::Value::none());
  d.set(pth::sg_keys::kOptimizerStateDict, c.optimizer_state);
  d.set(pth::sg_keys::kScalerStateDict, c.scaler_state);
  return root;
}

}  // namespace sg
