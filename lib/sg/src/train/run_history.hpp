#pragma once
// The numbers of a run that metrics.csv, steps.csv and report.html show: one row per epoch,
// its columns named as SG's TensorBoard tags (Train_Accuracy, Valid_CrossEntropyLoss, LR),
// and one row per optimizer step. No LibTorch.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace sg {

using NamedValues = std::vector<std::pair<std::string, double>>;

// SG's tags of the rates at an epoch's start: "LR" for one param group, else "LR/<name>"
// per group, a later group of the same name replacing an earlier one (SG fills a dict).
NamedValues lr_tags(const std::vector<std::string>& group_names, const std::vector<double>& lrs);

struct EpochRow {
  int64_t epoch = 0;   // 1-based, as the log says
  NamedValues values;  // Train_*, Valid_*, LR...
  double epoch_seconds = 0, elapsed_seconds = 0;

  std::optional<double> value(const std::string& column) const;
};

// metrics.csv: "epoch", the value columns (every Train_ one, then every Valid_ one, then the
// others, each group in the order the rows first name them), "epoch_seconds",
// "elapsed_seconds"; a row without a column has an empty cell there.
class MetricsTable {
 public:
  void add(EpochRow row) { rows_.push_back(std::move(row)); }
  // Keeps the rows of epochs 1..`epoch` (a run continued from the end of that epoch).
  void keep_up_to(int64_t epoch);
  const std::vector<EpochRow>& rows() const { return rows_; }
  std::vector<std::string> columns() const;
  std::string to_csv() const;
  // What to_csv() wrote. Throws std::runtime_error ("line N: ...") for anything else.
  static MetricsTable from_csv(const std::string& text);

 private:
  std::vector<EpochRow> rows_;
};

// steps.csv: "step,epoch,loss,lr", step as SG numbers batches (batch index + 1 + the
// epoch's 0-based number times the batches in the training set), epoch 1-based.
struct StepRow {
  int64_t step = 0, epoch = 0;
  double loss = 0, lr = 0;
};
extern const char* const kStepsHeader;   // its first line, "\n" included
std::string step_csv_line(const StepRow& row);
// Throws std::runtime_error ("line N: ...") for what step_csv_line did not write.
std::vector<StepRow> steps_from_csv(const std::string& text);

}  // namespace sg
