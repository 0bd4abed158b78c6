#include "sg/optim/model_averager.hpp"

#include <cmath>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>

#include <torch/torch.h>

#include "pth/checkpoint.hpp"
#include "pth/error.hpp"
#include "pth/value.hpp"
#include "recipe/run_errors.hpp"


namespace sg {

namespace {

constexpr const char* kFormat = "sg-averaging";
constexpr int64_t kVersion = 1;

pth::Value str(const std::string& s) { return pth::Value::string(s); }

const pth::Value& field(const pth::Value& v, const char* key, const std::string& where) {
  if (!v.is_dict()) throw std::runtime_error(where + ": not a dict");
  const pth::Value* f = v.as_dict().find(key);
  if (f == nullptr) throw std::runtime_error(where + ": no '" + key + "'");
  return *f;
}

// The serial of "snapshot_<serial>.pth", or nothing for another name.
std::optional<int64_t> snapshot_serial(const std::string& name) {
  const std::string prefix = "snapshot_", suffix = ".pth";
  if (name.size() <= prefix.size() + suffix.size() || name.compare(0, prefix.size(), prefix) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
    return std::nullopt;
  const std::string digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  if (digits.size() > 18 || digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoll(digits);
}

std::string shape_str(const std::vector<int64_t>& shape) { return c10::str(c10::IntArrayRef(shape)); }

// A snapshot or the index, read safely; an error names the file.
pth::Checkpoint read_file(const std::string& path) {
  try {
    return pth::read_checkpoint(path);
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
}

}  // namespace

ModelAverager::ModelAverager(pth::Folder folder, size_t capacity, bool greater_is_better, const pth::Value* record)
    : folder_(std::move(folder)), greater_is_better_(greater_is_better) {
  if (capacity == 0) throw std::invalid_argument("ModelAverager: capacity must be at least 1");
  slots_.resize(capacity);
  if (record) load_record(*record);
  find_unnamed_older_snapshots();
}

size_t ModelAverager::size() const {
  size_t n = 0;
  for (const auto& s : slots_) n += s.used ? 1 : 0;
  return n;
}

std::vector<std::optional<double>> ModelAverager::slot_metrics() const {
  std::vector<std::optional<double>> out;
  for (const auto& s : slots_) out.push_back(s.used ? std::optional<double>(s.metric) : std::nullopt);
  return out;
}

uint64_t ModelAverager::resident_bytes() const {
  uint64_t n = 0;
  for (const auto& t : sum_) n += uint64_t(t.numel()) * t.element_size();
  return n;
}

void ModelAverager::set_layout(const NamedTensors& snapshot) {
  layout_.clear();
  sum_.clear();
  for (const auto& [name, t] : snapshot) {
    layout_.push_back({name, t.scalar_type(), t.sizes().vec()});
    sum_.push_back(torch::zeros(t.sizes(), torch::TensorOptions().dtype(torch::kDouble)));
  }
}

std::vector<std::string> ModelAverager::layout_problems(const NamedTensors& snapshot) const {
  std::vector<std::string> problems;
  if (snapshot.size() != layout_.size()) {
    problems.push_back(std::to_string(snapshot.size()) + " entries, the kept snapshots have " +
                       std::to_string(layout_.size()));
    return problems;
  }
  for (size_t i = 0; i < layout_.size(); ++i) {
    const auto& [name, t] = snapshot[i];
    const Entry& e = layout_[i];
    if (name != e.name) {
      problems.push_back("entry " + std::to_string(i) + " is '" + name + "', expected '" + e.name + "'");
    } else if (t.sizes().vec() != e.shape) {
      problems.push_back("'" + name + "': shape " + c10::str(t.sizes()) + ", expected " + shape_str(e.shape));
    } else if (t.scalar_type() != e.dtype) {
      problems.push_back("'" + name + "': dtype " + std::string(c10::toString(t.scalar_type())) + ", expected " +
                         c10::toString(e.dtype));
    }
  }
  return problems;
}

bool ModelAverager::add(const NamedTensors& snapshot, double metric) {
  if (!std::isfinite(metric)) return false;

  // SG's _is_better: the first slot holding the worst value (empty slots hold -inf/+inf).
  size_t worst = 0;
  bool worst_empty = !slots_[0].used;
  for (size_t i = 1; i < slots_.size() && !worst_empty; ++i) {
    if (!slots_[i].used) {
      worst = i;
      worst_empty = true;
    } else if (greater_is_better_ ? slots_[i].metric < slots_[worst].metric : slots_[i].metric > slots_[worst].metric) {
      worst = i;
    }
  }
  if (!worst_empty) {
    const double w = slots_[worst].metric;
    if (!(greater_is_better_ ? metric > w : metric < w)) return false;
  }

  if (size() == 0) {
    set_layout(snapshot);
  } else {
    const auto problems = layout_problems(snapshot);
    if (!problems.empty()) {
      std::string msg = "ModelAverager: snapshot does not match the kept ones:";
      for (const auto& p : problems) msg += " " + p + ";";
      throw std::invalid_argument(msg);
    }
  }

  const Slot old = slots_[worst];
  Slot fresh;
  fresh.used = true;
  fresh.metric = metric;
  fresh.file = "snapshot_" + std::to_string(next_serial_) + ".pth";
  {
    pth::Value root = pth::Value::dict();
    root.as_dict().set("metric", pth::Value::floating(metric));
    root.as_dict().set("state_dict", to_pth_state_dict(snapshot));
    try {
      sink_->write(folder_, fresh.file, root);
    } catch (const pth::Error& e) {
      throw run_write_error(folder_.path_of(fresh.file), e);
    }
  }
  ++next_serial_;
  slots_[worst] = fresh;

  // Bring the sum in line, one entry at a time.
  try {
    torch::NoGradGuard no_grad;
    if (old.used) accumulate_file(old.file, -1.0);
    for (size_t i = 0; i < layout_.size(); ++i) {
      sum_[i].add_(snapshot[i].second.detach().to(torch::kCPU, torch::kDouble));
    }
  } catch (...) {
    sink_->flush();  // the fresh snapshot may still be on its way to the disk
    rebuild_sum();   // from the files the slots name (throws if they cannot be read)
  }
  if (old.used) replaced_.push_back(old.file);
  return true;
}

void ModelAverager::commit() {
  for (const std::string& file : replaced_) sink_->remove(folder_, file);
  replaced_.clear();
}

NamedTensors ModelAverager::average() const {
  NamedTensors out;
  const size_t n = size();
  if (n == 0) return out;
  torch::NoGradGuard no_grad;
  out.reserve(layout_.size());
  for (size_t i = 0; i < layout_.size(); ++i) {
    torch::Tensor mean = sum_[i] / double(n);
    if (!torch::isFloatingType(layout_[i].dtype) && !torch::isComplexType(layout_[i].dtype)) {
      mean = torch::floor(mean);
    }
    out.emplace_back(layout_[i].name, mean.to(layout_[i].dtype));
  }
  return out;
}

pth::Value ModelAverager::record() const {
  pth::Value root = pth::Value::dict();
  auto& d = root.as_dict();
  d.set("format", str(kFormat));
  d.set("version", pth::Value::integer(kVersion));
  d.set("capacity", pth::Value::integer(int64_t(slots_.size())));
  d.set("greater_is_better", pth::Value::boolean(greater_is_better_));
  d.set("next_serial", pth::Value::integer(next_serial_));
  pth::List slots;
  for (const auto& s : slots_) {
    if (!s.used) {
      slots.push_back(pth::Value::none());
      continue;
    }
    pth::Value slot = pth::Value::dict();
    slot.as_dict().set("metric", pth::Value::floating(s.metric));
    slot.as_dict().set("file", str(s.file));
    slots.push_back(slot);
  }
  d.set("slots", pth::Value::list(std::move(slots)));
  return root;
}

void ModelAverager::accumulate_file(const std::string& file, double sign) {
  const std::string path = folder_.path_of(file);
  const pth::Checkpoint ckpt = read_file(path);
  ++snapshot_reads_;
  const pth::Value& sd = field(ckpt.root, "state_dict", path);
  if (!sd.is_dict()) throw std::runtime_error(path + ": 'state_dict' is not a dict");
  const auto& items = sd.as_dict().items;
  if (layout_.empty() && sum_.empty()) {
    // First file read: it defines the layout.
    for (const auto& [key, value] : items) {
      if (!value.is_tensor()) throw std::runtime_error(path + ": '" + pth::key_to_string(key) + "' is not a tensor");
      const auto& t = *value.as_tensor();
      layout_.push_back({pth::key_to_string(key), to_torch_dtype(t.dtype), t.shape});
      sum_.push_back(torch::zeros(t.shape, torch::TensorOptions().dtype(torch::kDouble)));
    }
  }
  // Check every entry's metadata before touching the sum.
  if (items.size() != layout_.size()) {
    throw std::runtime_error(path + ": " + std::to_string(items.size()) + " entries, expected " +
                             std::to_string(layout_.size()));
  }
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& [key, value] = items[i];
    const std::string name = pth::key_to_string(key);
    if (!value.is_tensor()) throw std::runtime_error(path + ": '" + name + "' is not a tensor");
    const auto& t = *value.as_tensor();
    if (name != layout_[i].name || t.shape != layout_[i].shape || to_torch_dtype(t.dtype) != layout_[i].dtype) {
      throw std::runtime_error(path + ": entry " + std::to_string(i) + " '" + name + "' does not match '" +
                               layout_[i].name + "'");
    }
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < items.size(); ++i) {
    sum_[i].add_(to_torch(*items[i].second.as_tensor()).to(torch::kDouble), sign);
  }
}

void ModelAverager::rebuild_sum() {
  layout_.clear();
  sum_.clear();
  for (const auto& s : slots_) {
    if (s.used) accumulate_file(s.file, 1.0);
  }
}

void ModelAverager::load_record(const pth::Value& root) {
  const std::string where = "the averaging record";
  if (!field(root, "format", where).is_string() || field(root, "format", where).as_string() != kFormat) {
    throw std::runtime_error(where + ": not an averaging record");
  }
  if (!field(root, "version", where).is_int() || field(root, "version", where).as_int() != kVersion) {
    throw std::runtime_error(where + ": unsupported version");
  }
  const pth::Value& capacity = field(root, "capacity", where);
  const pth::Value& greater = field(root, "greater_is_better", where);
  if (!capacity.is_int() || !greater.is_bool()) throw std::runtime_error(where + ": bad capacity or greater_is_better");
  if (capacity.as_int() != int64_t(slots_.size()) || greater.as_bool() != greater_is_better_) {
    throw std::runtime_error(where + ": made for " + std::to_string(capacity.as_int()) +
                             " snapshots with greater_is_better=" + (greater.as_bool() ? "true" : "false") +
                             ", asked for " + std::to_string(slots_.size()) +
                             " with greater_is_better=" + (greater_is_better_ ? "true" : "false"));
  }
  const pth::Value& next = field(root, "next_serial", where);
  if (!next.is_int() || next.as_int() < 0) throw std::runtime_error(where + ": bad next_serial");
  next_serial_ = next.as_int();
  const pth::Value& slots = field(root, "slots", where);
  if (!slots.is_sequence() || slots.items().size() != slots_.size()) {
    throw std::runtime_error(where + ": 'slots' is not a list of " + std::to_string(slots_.size()));
  }
  for (size_t i = 0; i < slots_.size(); ++i) {
    const pth::Value& s = slots.items()[i];
    if (s.is_none()) continue;
    const pth::Value& metric = field(s, "metric", where);
    const pth::Value& file = field(s, "file", where);
    if (!(metric.is_float() || metric.is_int()) || !file.is_string()) throw std::runtime_error(where + ": bad slot");
    slots_[i].used = true;
    slots_[i].metric = metric.as_number();
    slots_[i].file = file.as_string();
    const auto serial = snapshot_serial(slots_[i].file);
    if (!serial || *serial >= next_serial_)
      throw std::runtime_error(where + ": bad snapshot file name '" + slots_[i].file + "'");
  }
  rebuild_sum();
}

// Snapshots a crash kept from being removed after their replacement was committed: gone
// with the next commit (not now: reading a run to resume it writes nothing).
void ModelAverager::find_unnamed_older_snapshots() {
  std::set<std::string> named;
  for (const auto& s : slots_)
    if (s.used) named.insert(s.file);
  std::vector<std::string> names;
  try {
    names = folder_.list();
  } catch (const pth::Error&) {
    return;
  }
  for (const std::string& name : names) {
    const auto serial = snapshot_serial(name);
    if (serial && *serial < next_serial_ && !named.count(name)) replaced_.push_back(name);
  }
}

}  // namespace sg
