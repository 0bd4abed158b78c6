#pragma once
// Metric results by name, and the metric names a recipe may ask for. No LibTorch.
#include <map>
#include <string>
#include <vector>

namespace sg {

using MetricValues = std::map<std::string, double>;

// Throws std::invalid_argument for a metric name we do not implement ("Accuracy", "Top5").
void check_metric_names(const std::vector<std::string>& names);

}  // namespace sg
