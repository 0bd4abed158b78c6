#pragma once
// What PyTorch's LR schedulers share (internal to lib/sg): Python's number semantics, reading
// and writing state dicts, checking constructor arguments, and _LRScheduler (EpochScheduler).
//
// A scheduler is one file in this folder: its class and a factory declared below, which
// torch_scheduler.cpp lists under PyTorch's class name. Every file that computes rates is
// compiled with -ffp-contract=off (see lib/sg/CMakeLists.txt): Python evaluates a * b + c
// with two roundings, and the rates must equal PyTorch's bit for bit.
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "pth/value.hpp"
#include "sg/optim/torch_scheduler.hpp"

namespace sg::schedulers {

inline constexpr double kPi = 3.141592653589793;  // math.pi
inline constexpr double kInf = std::numeric_limits<double>::infinity();

// A Python number that remembers whether it was an int or a float (the state dict echoes
// constructor arguments with their own type).
struct Num {
  bool is_int = false;
  int64_t i = 0;
  double d = 0.0;

  static Num integer(int64_t v) { return Num{true, v, 0.0}; }
  static Num floating(double v) { return Num{false, 0, v}; }
  double v() const { return is_int ? double(i) : d; }
  pth::Value value() const { return is_int ? pth::Value::integer(i) : pth::Value::floating(d); }
};

// Python's `x % m` for ints (the result has the sign of m).
inline int64_t py_mod(int64_t x, int64_t m) {
  int64_t r = x % m;
  if (r != 0 && ((r < 0) != (m < 0))) r += m;
  return r;
}

// Python's max(a, b): a unless b > a.
inline double py_max(double a, double b) { return b > a ? b : a; }

// --- reading state dicts ------------------------------------------------------------------
// read_*: the value stored under `key` in `state`, or `current` when the key is absent.
// `sched` names the scheduler in the std::runtime_error thrown for a mistyped value.

[[noreturn]] void bad_state(const std::string& sched, const std::string& key, const std::string& what);
std::string kind_of(const pth::Value& v);
const pth::Value* field(const pth::Value& state, const std::string& key);
void require_dict(const std::string& sched, const pth::Value& state);

bool read_bool(const std::string& sched, const pth::Value& state, const std::string& key, bool current);
int64_t read_int(const std::string& sched, const pth::Value& state, const std::string& key, int64_t current);
Num to_num(const std::string& sched, const std::string& key, const pth::Value& v);
Num read_num(const std::string& sched, const pth::Value& state, const std::string& key, Num current);
double read_double(const std::string& sched, const pth::Value& state, const std::string& key, double current);
std::string read_string(const std::string& sched, const pth::Value& state, const std::string& key,
                        const std::string& current);
// A list with one number per param group.
std::vector<Num> read_num_list(const std::string& sched, const pth::Value& state, const std::string& key,
                               std::vector<Num> current, size_t groups);
std::vector<double> read_double_list(const std::string& sched, const pth::Value& state, const std::string& key,
                                     std::vector<double> current);

// --- writing state dicts ------------------------------------------------------------------

void put(pth::Value& dict, const std::string& key, pth::Value v);
pth::Value float_list(const std::vector<double>& xs);
pth::Value num_list(const std::vector<Num>& xs);

// --- constructor arguments ----------------------------------------------------------------
// The getters return the argument or `fallback` when it is not given, and throw
// std::invalid_argument ("<sched>: '<key>': ...") when it has the wrong type.
class Args {
 public:
  Args(std::string sched, const TorchSchedulerParams& params) : sched_(std::move(sched)), params_(params) {}

  const TorchSchedulerParam* find(const std::string& key);
  bool has(const std::string& key) { return find(key) != nullptr; }

  [[noreturn]] void bad(const std::string& key, const std::string& what) const;

  Num num(const std::string& key, Num fallback);
  int64_t integer(const std::string& key, int64_t fallback);
  bool boolean(const std::string& key, bool fallback);
  std::string string(const std::string& key, const std::string& fallback);
  // Required.
  std::vector<int64_t> int_list(const std::string& key);
  // A number for every param group: one number, or a list with one per group.
  std::vector<Num> per_group(const std::string& key, std::vector<Num> fallback, size_t groups);

  // Unknown keys are errors, as PyTorch's TypeError for an unexpected keyword argument.
  void finish() const;

 private:
  std::string sched_;
  const TorchSchedulerParams& params_;
  std::set<std::string> used_;
};

// --- _LRScheduler ---------------------------------------------------------------------------
// base_lrs, last_epoch, verbose, _step_count, _get_lr_called_within_step, _last_lr; the
// chainable step(). A subclass writes and reads its own fields, which come first in the dict.
class EpochScheduler : public TorchScheduler {
 public:
  EpochScheduler(std::string name, Args& args, const std::vector<double>& base_lrs);

  std::string name() const override { return name_; }
  int64_t last_epoch() const override { return last_epoch_; }

  // PyTorch's _initial_step(): called once the subclass is set up.
  void initial_step() {
    step_count_ = 0;
    step();
  }

  void step(std::optional<double> metric = std::nullopt) override;
  pth::Value state_dict() const override;
  void load_state_dict(const pth::Value& state) override;
  std::vector<std::pair<std::string, pth::Value>> param_group_entries(size_t group) const override;

 protected:
  virtual std::vector<double> get_lr() = 0;
  // The current rates, each times `factor` (PyTorch's chainable `group["lr"] * factor`).
  std::vector<double> scaled_lrs(double factor) const {
    std::vector<double> out;
    out.reserve(lrs_.size());
    for (double lr : lrs_) out.push_back(lr * factor);
    return out;
  }
  virtual void check_can_step() const {}
  virtual void write_fields(pth::Value& d) const = 0;
  virtual void read_fields(const pth::Value& state) = 0;

  std::string name_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;
  bool verbose_ = false;
};

// StepLR and CosineAnnealingLR: their own fields are a period (step_size, T_max: required, a
// positive int that Python takes `%` by) and then a number (gamma, eta_min).
class PeriodicScheduler : public EpochScheduler {
 public:
  PeriodicScheduler(std::string name, Args& args, const TorchSchedulerContext& ctx, std::string period_key,
                    std::string number_key, Num number_default);

 protected:
  void write_fields(pth::Value& d) const override;
  void read_fields(const pth::Value& state) override;

  int64_t period_ = 1;
  Num number_;

 private:
  std::string period_key_;
  std::string number_key_;
};

// --- factories ----------------------------------------------------------------------------
// Each builds its scheduler as PyTorch's constructor does: arguments from `args`, unknown
// ones refused (args.finish()), then the initial step where PyTorch takes one.
using SchedulerFactory = std::unique_ptr<TorchScheduler> (*)(Args& args, const TorchSchedulerContext& context);

template <class S>
std::unique_ptr<TorchScheduler> make_epoch_scheduler(Args& args, const TorchSchedulerContext& context) {
  auto s = std::make_unique<S>(args, context);
  args.finish();
  s->initial_step();
  return s;
}

std::unique_ptr<TorchScheduler> make_step_lr(Args& args, const TorchSchedulerContext& context);
std::unique_ptr<TorchScheduler> make_multi_step_lr(Args& args, const TorchSchedulerContext& context);
std::unique_ptr<TorchScheduler> make_cosine_annealing_lr(Args& args, const TorchSchedulerContext& context);
std::unique_ptr<TorchScheduler> make_one_cycle_lr(Args& args, const TorchSchedulerContext& context);
std::unique_ptr<TorchScheduler> make_reduce_lr_on_plateau(Args& args, const TorchSchedulerContext& context);
std::unique_ptr<TorchScheduler> make_exponential_lr(Args& args, const TorchSchedulerContext& context);
std::unique_ptr<TorchScheduler> make_constant_lr(Args& args, const TorchSchedulerContext& context);
std::unique_ptr<TorchScheduler> make_linear_lr(Args& args, const TorchSchedulerContext& context);
std::unique_ptr<TorchScheduler> make_cosine_annealing_warm_restarts(Args& args, const TorchSchedulerContext& context);
std::unique_ptr<TorchScheduler> make_cyclic_lr(Args& args, const TorchSchedulerContext& context);

}  // namespace sg::schedulers
