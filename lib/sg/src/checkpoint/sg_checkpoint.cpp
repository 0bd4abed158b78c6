#include "sg/checkpoint/sg_checkpoint.hpp"

namespace sg {
namespace {

pth::Value values_to_pth(const MetricValues& values) {
  pth::Value d = pth::Value::dict();
  for (const auto& [name, value] : values) d.as_dict().set(pth::Value::string(name), pth::Value::floating(value));
  return d;
}

}  // namespace

pth::Value metrics_to_pth(const EpochMetrics& m) {
  pth::Value d = pth::Value::dict();
  d.as_dict().set(pth::Value::string("tracked_metric_name"), pth::Value::string(m.tracked_metric_name));
  d.as_dict().set(pth::Value::string("valid"), values_to_pth(m.valid));
  d.as_dict().set(pth::Value::string("train"), values_to_pth(m.train));
  return d;
}

pth::Value make_sg_checkpoint(const CheckpointContents& c) {
  pth::Value root = pth::Value::dict();
  auto& d = root.as_dict();
  d.set(pth::Value::string("net"), to_pth_state_dict(c.net));
  d.set(pth::Value::string("acc"), pth::Value::floating(c.acc));
  d.set(pth::Value::string("epoch"), pth::Value::integer(c.epoch));
  d.set(pth::Value::string("metrics"), metrics_to_pth(c.metrics));
  d.set(pth::Value::string("_best_ckpt_metrics"), c.best_metrics ? metrics_to_pth(*c.best_metrics) : pth::Value::none());
  d.set(pth::Value::string("optimizer_state_dict"), c.optimizer_state);
  d.set(pth::Value::string("scaler_state_dict"), c.scaler_state);
  return root;
}

}  // namespace sg
