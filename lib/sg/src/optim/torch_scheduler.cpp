// PyTorch 1.13's LR schedulers (torch/optim/lr_scheduler.py), formula for formula. The
// floating-point expressions keep Python's evaluation order: the rates must equal
// PyTorch's bit for bit, and the recursive forms (StepLR, MultiStepLR, CosineAnnealingLR)
// accumulate their rounding exactly as PyTorch's do.
#include "sg/optim/torch_scheduler.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <set>
#include <stdexcept>

#include <yaml-cpp/yaml.h>

// No fused multiply-add: Python evaluates a * b + c with two roundings.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace sg {
namespace {

constexpr double kPi = 3.141592653589793;   // math.pi
constexpr double kInf = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------------------------------
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
int64_t py_mod(int64_t x, int64_t m) {
  int64_t r = x % m;
  if (r != 0 && ((r < 0) != (m < 0))) r += m;
  return r;
}

// Python's max(a, b): a unless b > a.
double py_max(double a, double b) { return b > a ? b : a; }

// --- reading state dicts ------------------------------------------------------------------

[[noreturn]] void bad_state(const std::string& sched, const std::string& key, const std::string& what) {
  throw std::runtime_error(sched + " state_dict: '" + key + "': " + what);
}

std::string kind_of(const pth::Value& v) { return std::string(pth::Value::kind_name(v.kind())); }

const pth::Value* field(const pth::Value& state, const std::string& key) { return state.as_dict().find(key); }

bool read_bool(const std::string& sched, const pth::Value& state, const std::string& key, bool current) {
  const pth::Value* v = field(state, key);
  if (v == nullptr) return current;
  if (v->is_bool()) return v->as_bool();
  if (v->is_int()) return v->as_int() != 0;
  bad_state(sched, key, "expected a bool, got " + kind_of(*v));
}

int64_t read_int(const std::string& sched, const pth::Value& state, const std::string& key, int64_t current) {
  const pth::Value* v = field(state, key);
  if (v == nullptr) return current;
  if (v->is_int()) return v->as_int();
  if (v->is_bool()) return v->as_bool() ? 1 : 0;
  if (v->is_float() && std::floor(v->as_number()) == v->as_number() && std::fabs(v->as_number()) < 9.0e15)
    return int64_t(v->as_number());
  bad_state(sched, key, "expected an int, got " + kind_of(*v));
}

Num to_num(const std::string& sched, const std::string& key, const pth::Value& v) {
  if (v.is_int()) return Num::integer(v.as_int());
  if (v.is_bool()) return Num::integer(v.as_bool() ? 1 : 0);
  if (v.is_float()) return Num::floating(v.as_number());
  bad_state(sched, key, "expected a number, got " + kind_of(v));
}

Num read_num(const std::string& sched, const pth::Value& state, const std::string& key, Num current) {
  const pth::Value* v = field(state, key);
  return v == nullptr ? current : to_num(sched, key, *v);
}

double read_double(const std::string& sched, const pth::Value& state, const std::string& key, double current) {
  return read_num(sched, state, key, Num::floating(current)).v();
}

std::string read_string(const std::string& sched, const pth::Value& state, const std::string& key,
                        const std::string& current) {
  const pth::Value* v = field(state, key);
  if (v == nullptr) return current;
  if (!v->is_string()) bad_state(sched, key, "expected a str, got " + kind_of(*v));
  return v->as_string();
}

std::vector<Num> read_num_list(const std::string& sched, const pth::Value& state, const std::string& key,
                               std::vector<Num> current, size_t groups) {
  const pth::Value* v = field(state, key);
  if (v == nullptr) return current;
  if (!v->is_sequence()) bad_state(sched, key, "expected a list, got " + kind_of(*v));
  if (v->items().size() != groups)
    bad_state(sched, key, "has " + std::to_string(v->items().size()) + " entries for " + std::to_string(groups) +
                              " param groups");
  std::vector<Num> out;
  for (const pth::Value& item : v->items()) out.push_back(to_num(sched, key, item));
  return out;
}

std::vector<double> read_double_list(const std::string& sched, const pth::Value& state, const std::string& key,
                                     std::vector<double> current) {
  std::vector<Num> cur;
  for (double d : current) cur.push_back(Num::floating(d));
  std::vector<Num> got = read_num_list(sched, state, key, cur, current.size());
  std::vector<double> out;
  for (const Num& n : got) out.push_back(n.v());
  return out;
}

void require_dict(const std::string& sched, const pth::Value& state) {
  if (!state.is_dict())
    throw std::runtime_error(sched + " state_dict: expected a dict, got " + kind_of(state));
}

// --- writing state dicts ------------------------------------------------------------------

void put(pth::Value& dict, const std::string& key, pth::Value v) {
  dict.as_dict().items.emplace_back(pth::Value::string(key), std::move(v));
}

pth::Value float_list(const std::vector<double>& xs) {
  pth::List l;
  for (double x : xs) l.push_back(pth::Value::floating(x));
  return pth::Value::list(std::move(l));
}

pth::Value num_list(const std::vector<Num>& xs) {
  pth::List l;
  for (const Num& x : xs) l.push_back(x.value());
  return pth::Value::list(std::move(l));
}

// --- constructor arguments ----------------------------------------------------------------

class Args {
 public:
  Args(std::string sched, const TorchSchedulerParams& params) : sched_(std::move(sched)), params_(params) {}

  const TorchSchedulerParam* find(const std::string& key) {
    used_.insert(key);
    auto it = params_.find(key);
    return it == params_.end() ? nullptr : &it->second;
  }
  bool has(const std::string& key) { return find(key) != nullptr; }

  [[noreturn]] void bad(const std::string& key, const std::string& what) const {
    throw std::invalid_argument(sched_ + ": '" + key + "': " + what);
  }

  Num num(const std::string& key, Num fallback) {
    const TorchSchedulerParam* p = find(key);
    if (p == nullptr) return fallback;
    if (auto* i = std::get_if<int64_t>(p)) return Num::integer(*i);
    if (auto* d = std::get_if<double>(p)) return Num::floating(*d);
    bad(key, "expected a number");
  }
  int64_t integer(const std::string& key, int64_t fallback) {
    const TorchSchedulerParam* p = find(key);
    if (p == nullptr) return fallback;
    if (auto* i = std::get_if<int64_t>(p)) return *i;
    bad(key, "expected an integer");
  }
  bool boolean(const std::string& key, bool fallback) {
    const TorchSchedulerParam* p = find(key);
    if (p == nullptr) return fallback;
    if (auto* b = std::get_if<bool>(p)) return *b;
    bad(key, "expected true or false");
  }
  std::string string(const std::string& key, const std::string& fallback) {
    const TorchSchedulerParam* p = find(key);
    if (p == nullptr) return fallback;
    if (auto* s = std::get_if<std::string>(p)) return *s;
    bad(key, "expected a string");
  }
  std::vector<int64_t> int_list(const std::string& key) {
    const TorchSchedulerParam* p = find(key);
    if (p == nullptr) bad(key, "required");
    if (auto* l = std::get_if<std::vector<int64_t>>(p)) return *l;
    if (auto* i = std::get_if<int64_t>(p)) return {*i};
    bad(key, "expected a list of integers");
  }
  // A number for every param group: one number, or a list with one per group.
  std::vector<Num> per_group(const std::string& key, std::vector<Num> fallback, size_t groups) {
    const TorchSchedulerParam* p = find(key);
    if (p == nullptr) return fallback;
    std::vector<Num> out;
    if (auto* i = std::get_if<int64_t>(p)) out.assign(groups, Num::integer(*i));
    else if (auto* d = std::get_if<double>(p)) out.assign(groups, Num::floating(*d));
    else if (auto* li = std::get_if<std::vector<int64_t>>(p)) for (int64_t x : *li) out.push_back(Num::integer(x));
    else if (auto* ld = std::get_if<std::vector<double>>(p)) for (double x : *ld) out.push_back(Num::floating(x));
    else bad(key, "expected a number or a list of numbers");
    if (out.size() != groups)
      bad(key, "expected " + std::to_string(groups) + " values (one per param group), got " + std::to_string(out.size()));
    return out;
  }

  // Unknown keys are errors, as PyTorch's TypeError for an unexpected keyword argument.
  void finish() const {
    for (const auto& [key, value] : params_) {
      (void)value;
      if (used_.count(key) != 0 || key == "phase" || key == "metric_name") continue;
      throw std::invalid_argument(sched_ + ": unknown parameter '" + key + "'");
    }
  }

 private:
  std::string sched_;
  const TorchSchedulerParams& params_;
  std::set<std::string> used_;
};

// ---------------------------------------------------------------------------------------
// _LRScheduler: base_lrs, last_epoch, verbose, _step_count, _get_lr_called_within_step,
// _last_lr; the chainable step().
class EpochScheduler : public TorchScheduler {
 public:
  EpochScheduler(std::string name, Args& args, const std::vector<double>& base_lrs)
      : name_(std::move(name)), base_lrs_(base_lrs) {
    const int64_t last_epoch = args.integer("last_epoch", -1);
    if (last_epoch != -1)
      args.bad("last_epoch", "only -1 (a fresh scheduler) is supported; restore state with load_state_dict");
    verbose_ = args.boolean("verbose", false);
    if (base_lrs_.empty()) throw std::invalid_argument(name_ + ": no param groups");
    lrs_ = base_lrs_;
  }

  std::string name() const override { return name_; }
  int64_t last_epoch() const override { return last_epoch_; }

  // PyTorch's _initial_step(): called once the subclass is set up.
  void initial_step() {
    step_count_ = 0;
    step();
  }

  void step(std::optional<double> /*metric*/ = std::nullopt) override {
    check_can_step();
    ++step_count_;
    ++last_epoch_;
    lrs_ = get_lr();
  }

  pth::Value state_dict() const override {
    pth::Value d = pth::Value::dict();
    write_fields(d);
    put(d, "base_lrs", float_list(base_lrs_));
    put(d, "last_epoch", pth::Value::integer(last_epoch_));
    put(d, "verbose", pth::Value::boolean(verbose_));
    put(d, "_step_count", pth::Value::integer(step_count_));
    put(d, "_get_lr_called_within_step", pth::Value::boolean(false));
    put(d, "_last_lr", float_list(lrs_));
    return d;
  }

  void load_state_dict(const pth::Value& state) override {
    require_dict(name_, state);
    read_fields(state);
    base_lrs_ = read_double_list(name_, state, "base_lrs", base_lrs_);
    last_epoch_ = read_int(name_, state, "last_epoch", last_epoch_);
    verbose_ = read_bool(name_, state, "verbose", verbose_);
    step_count_ = read_int(name_, state, "_step_count", step_count_);
    lrs_ = read_double_list(name_, state, "_last_lr", lrs_);
  }

  std::vector<std::pair<std::string, pth::Value>> param_group_entries(size_t group) const override {
    return {{"initial_lr", pth::Value::floating(base_lrs_.at(group))}};
  }

 protected:
  virtual std::vector<double> get_lr() = 0;
  virtual void check_can_step() const {}
  virtual void write_fields(pth::Value& d) const = 0;
  virtual void read_fields(const pth::Value& state) = 0;

  std::string name_;
  std::vector<double> base_lrs_;
  int64_t last_epoch_ = -1;
  int64_t step_count_ = 0;
  bool verbose_ = false;
};

// --- StepLR -------------------------------------------------------------------------------
class StepLR final : public EpochScheduler {
 public:
  StepLR(Args& args, const TorchSchedulerContext& ctx) : EpochScheduler("StepLR", args, ctx.base_lrs) {
    const TorchSchedulerParam* p = args.find("step_size");
    if (p == nullptr) args.bad("step_size", "required");
    step_size_ = args.integer("step_size", 0);
    if (step_size_ <= 0) args.bad("step_size", "must be a positive integer");
    gamma_ = args.num("gamma", Num::floating(0.1));
  }

 protected:
  std::vector<double> get_lr() override {
    if (last_epoch_ == 0 || py_mod(last_epoch_, step_size_) != 0) return lrs_;
    std::vector<double> out;
    for (double lr : lrs_) out.push_back(lr * gamma_.v());
    return out;
  }
  void write_fields(pth::Value& d) const override {
    put(d, "step_size", pth::Value::integer(step_size_));
    put(d, "gamma", gamma_.value());
  }
  void read_fields(const pth::Value& s) override {
    step_size_ = read_int(name_, s, "step_size", step_size_);
    if (step_size_ == 0) bad_state(name_, "step_size", "is 0");
    gamma_ = read_num(name_, s, "gamma", gamma_);
  }

 private:
  int64_t step_size_ = 1;
  Num gamma_;
};

// --- MultiStepLR --------------------------------------------------------------------------
class MultiStepLR final : public EpochScheduler {
 public:
  MultiStepLR(Args& args, const TorchSchedulerContext& ctx) : EpochScheduler("MultiStepLR", args, ctx.base_lrs) {
    for (int64_t m : args.int_list("milestones")) add_milestone(m, 1);   // Counter(milestones)
    gamma_ = args.num("gamma", Num::floating(0.1));
  }

 protected:
  std::vector<double> get_lr() override {
    int64_t count = 0;
    for (const auto& [m, c] : milestones_)
      if (m == last_epoch_) count = c;
    if (count == 0) return lrs_;   // `last_epoch not in milestones` (a Counter never holds 0 counts here)
    std::vector<double> out;
    const double factor = std::pow(gamma_.v(), double(count));   // gamma ** count
    for (double lr : lrs_) out.push_back(lr * factor);
    return out;
  }
  void write_fields(pth::Value& d) const override {
    // PyTorch: a collections.Counter; a plain dict holds the same and loads everywhere.
    pth::Value m = pth::Value::dict();
    for (const auto& [k, c] : milestones_) m.as_dict().items.emplace_back(pth::Value::integer(k), pth::Value::integer(c));
    put(d, "milestones", m);
    put(d, "gamma", gamma_.value());
  }
  void read_fields(const pth::Value& s) override {
    if (const pth::Value* v = field(s, "milestones")) {
      milestones_.clear();
      if (v->is_dict()) {
        for (const auto& [k, c] : v->as_dict().items) {
          if (!k.is_int()) bad_state(name_, "milestones", "expected int keys, got " + kind_of(k));
          if (!c.is_int()) bad_state(name_, "milestones", "expected int counts, got " + kind_of(c));
          milestones_.emplace_back(k.as_int(), c.as_int());
        }
      } else if (v->is_sequence()) {
        for (const pth::Value& k : v->items()) {
          if (!k.is_int()) bad_state(name_, "milestones", "expected ints, got " + kind_of(k));
          add_milestone(k.as_int(), 1);
        }
      } else {
        bad_state(name_, "milestones", "expected a dict or a list, got " + kind_of(*v));
      }
    }
    gamma_ = read_num(name_, s, "gamma", gamma_);
  }

 private:
  void add_milestone(int64_t m, int64_t c) {
    for (auto& [k, n] : milestones_)
      if (k == m) {
        n += c;
        return;
      }
    milestones_.emplace_back(m, c);
  }
  std::vector<std::pair<int64_t, int64_t>> milestones_;   // Counter, in first-seen order
  Num gamma_;
};

// --- CosineAnnealingLR --------------------------------------------------------------------
class CosineAnnealingLR final : public EpochScheduler {
 public:
  CosineAnnealingLR(Args& args, const TorchSchedulerContext& ctx)
      : EpochScheduler("CosineAnnealingLR", args, ctx.base_lrs) {
    if (!args.has("T_max")) args.bad("T_max", "required");
    t_max_ = args.integer("T_max", 0);
    if (t_max_ <= 0) args.bad("T_max", "must be a positive integer");
    eta_min_ = args.num("eta_min", Num::integer(0));
  }

 protected:
  std::vector<double> get_lr() override {
    const double T = double(t_max_);
    const double eta = eta_min_.v();
    std::vector<double> out;
    if (last_epoch_ == 0) return lrs_;
    if (step_count_ == 1 && last_epoch_ > 0) {
      for (double base : base_lrs_)
        out.push_back(eta + (base - eta) * (1 + std::cos(double(last_epoch_) * kPi / T)) / 2);
      return out;
    }
    if (py_mod(last_epoch_ - 1 - t_max_, 2 * t_max_) == 0) {
      for (size_t g = 0; g < lrs_.size(); ++g)
        out.push_back(lrs_[g] + (base_lrs_[g] - eta) * (1 - std::cos(kPi / T)) / 2);
      return out;
    }
    for (double lr : lrs_)
      out.push_back((1 + std::cos(kPi * double(last_epoch_) / T)) / (1 + std::cos(kPi * double(last_epoch_ - 1) / T)) *
                        (lr - eta) +
                    eta);
    return out;
  }
  void write_fields(pth::Value& d) const override {
    put(d, "T_max", pth::Value::integer(t_max_));
    put(d, "eta_min", eta_min_.value());
  }
  void read_fields(const pth::Value& s) override {
    t_max_ = read_int(name_, s, "T_max", t_max_);
    if (t_max_ == 0) bad_state(name_, "T_max", "is 0");
    eta_min_ = read_num(name_, s, "eta_min", eta_min_);
  }

 private:
  int64_t t_max_ = 1;
  Num eta_min_;
};

// --- OneCycleLR ---------------------------------------------------------------------------
class OneCycleLR final : public EpochScheduler {
 public:
  OneCycleLR(Args& args, const TorchSchedulerContext& ctx) : EpochScheduler("OneCycleLR", args, ctx.base_lrs) {
    const size_t groups = ctx.base_lrs.size();
    // total_steps, or epochs * steps_per_epoch, or what the trainer knows.
    if (args.has("total_steps")) {
      total_steps_ = args.integer("total_steps", 0);
      if (total_steps_ <= 0) args.bad("total_steps", "expected a positive integer");
      args.has("epochs");
      args.has("steps_per_epoch");
    } else if (args.has("epochs") || args.has("steps_per_epoch")) {
      const int64_t epochs = args.integer("epochs", 0);
      const int64_t spe = args.integer("steps_per_epoch", 0);
      if (epochs <= 0) args.bad("epochs", "expected a positive integer (with steps_per_epoch)");
      if (spe <= 0) args.bad("steps_per_epoch", "expected a positive integer (with epochs)");
      total_steps_ = epochs * spe;
    } else {
      total_steps_ = ctx.total_steps;
      if (total_steps_ <= 0)
        args.bad("total_steps", "give total_steps, or epochs and steps_per_epoch");
    }

    const Num pct = args.num("pct_start", Num::floating(0.3));
    const double pct_start = pct.v();
    if (pct_start < 0 || pct_start > 1) args.bad("pct_start", "expected a float between 0 and 1");
    const bool three_phase = args.boolean("three_phase", false);
    const double T = double(total_steps_);
    if (three_phase) {
      phases_ = {
          {Num::floating(pct_start * T - 1), "initial_lr", "max_lr", "max_momentum", "base_momentum"},
          {Num::floating(2 * pct_start * T - 2), "max_lr", "initial_lr", "base_momentum", "max_momentum"},
          {Num::integer(total_steps_ - 1), "initial_lr", "min_lr", "max_momentum", "max_momentum"},
      };
    } else {
      phases_ = {
          {Num::floating(pct_start * T - 1), "initial_lr", "max_lr", "max_momentum", "base_momentum"},
          {Num::integer(total_steps_ - 1), "max_lr", "min_lr", "base_momentum", "max_momentum"},
      };
    }

    anneal_ = args.string("anneal_strategy", "cos");
    if (anneal_ != "cos" && anneal_ != "linear")
      args.bad("anneal_strategy", "must be one of 'cos' or 'linear', got '" + anneal_ + "'");

    // max_lr defaults to the optimizer's lr (PyTorch requires it).
    std::vector<Num> base_as_num;
    for (double b : ctx.base_lrs) base_as_num.push_back(Num::floating(b));
    const std::vector<Num> max_lrs = args.per_group("max_lr", base_as_num, groups);
    const Num div_factor = args.num("div_factor", Num::floating(25.0));
    const Num final_div_factor = args.num("final_div_factor", Num::floating(1e4));
    groups_.resize(groups);
    for (size_t g = 0; g < groups; ++g) {
      Group& gr = groups_[g];
      gr.initial_lr = max_lrs[g].v() / div_factor.v();
      gr.max_lr = max_lrs[g];
      gr.min_lr = gr.initial_lr / final_div_factor.v();
    }

    cycle_momentum_ = args.boolean("cycle_momentum", true);
    const std::vector<Num> max_m = args.per_group("max_momentum", std::vector<Num>(groups, Num::floating(0.95)), groups);
    const std::vector<Num> base_m =
        args.per_group("base_momentum", std::vector<Num>(groups, Num::floating(0.85)), groups);
    for (size_t g = 0; g < groups; ++g) {
      groups_[g].max_momentum = max_m[g];
      groups_[g].base_momentum = base_m[g];
      groups_[g].momentum = max_m[g].v();
    }
    if (cycle_momentum_) use_beta1_ = ctx.optimizer_has_betas;
    // PyTorch's _LRScheduler takes base_lrs from group['initial_lr'], set above.
    base_lrs_.clear();
    for (const Group& gr : groups_) base_lrs_.push_back(gr.initial_lr);
    lrs_ = base_lrs_;
  }

  bool steps_per_batch() const override { return true; }

  std::optional<double> momentum(size_t group) const override {
    if (!cycle_momentum_) return std::nullopt;
    return groups_.at(group).momentum;
  }

  std::vector<std::pair<std::string, pth::Value>> param_group_entries(size_t group) const override {
    const Group& gr = groups_.at(group);
    std::vector<std::pair<std::string, pth::Value>> out = {
        {"initial_lr", pth::Value::floating(gr.initial_lr)},
        {"max_lr", gr.max_lr.value()},
        {"min_lr", pth::Value::floating(gr.min_lr)},
    };
    if (cycle_momentum_) {
      out.emplace_back("max_momentum", gr.max_momentum.value());
      out.emplace_back("base_momentum", gr.base_momentum.value());
    }
    return out;
  }

 protected:
  void check_can_step() const override {
    if (last_epoch_ + 1 > total_steps_)
      throw std::runtime_error("OneCycleLR: tried to step " + std::to_string(last_epoch_ + 2) +
                               " times. The specified number of total steps is " + std::to_string(total_steps_));
  }

  std::vector<double> get_lr() override {
    const int64_t step_num = last_epoch_;
    std::vector<double> out;
    for (Group& gr : groups_) {
      double start_step = 0.0;
      for (size_t i = 0; i < phases_.size(); ++i) {
        const Phase& ph = phases_[i];
        const double end_step = ph.end_step.v();
        if (double(step_num) <= end_step || i == phases_.size() - 1) {
          if (end_step - start_step == 0)
            throw std::runtime_error("OneCycleLR: a phase of zero length (ZeroDivisionError in PyTorch); "
                                     "change pct_start or total_steps");
          const double pct = (double(step_num) - start_step) / (end_step - start_step);
          out.push_back(anneal(value_of(gr, ph.start_lr), value_of(gr, ph.end_lr), pct));
          if (cycle_momentum_) gr.momentum = anneal(value_of(gr, ph.start_momentum), value_of(gr, ph.end_momentum), pct);
          break;
        }
        start_step = end_step;
      }
    }
    return out;
  }

  void write_fields(pth::Value& d) const override {
    put(d, "total_steps", pth::Value::integer(total_steps_));
    pth::List phases;
    for (const Phase& ph : phases_) {
      pth::Value p = pth::Value::dict();
      put(p, "end_step", ph.end_step.value());
      put(p, "start_lr", pth::Value::string(ph.start_lr));
      put(p, "end_lr", pth::Value::string(ph.end_lr));
      put(p, "start_momentum", pth::Value::string(ph.start_momentum));
      put(p, "end_momentum", pth::Value::string(ph.end_momentum));
      phases.push_back(p);
    }
    put(d, "_schedule_phases", pth::Value::list(std::move(phases)));
    put(d, "_anneal_func_type", pth::Value::string(anneal_));   // in place of PyTorch 1.13's bound `anneal_func`
    put(d, "cycle_momentum", pth::Value::boolean(cycle_momentum_));
    if (cycle_momentum_) put(d, "use_beta1", pth::Value::boolean(use_beta1_));
  }

  void read_fields(const pth::Value& s) override {
    total_steps_ = read_int(name_, s, "total_steps", total_steps_);
    if (const pth::Value* v = field(s, "_schedule_phases")) {
      if (!v->is_sequence() || v->items().empty())
        bad_state(name_, "_schedule_phases", "expected a non-empty list of dicts");
      std::vector<Phase> phases;
      for (const pth::Value& p : v->items()) {
        if (!p.is_dict()) bad_state(name_, "_schedule_phases", "expected dicts, got " + kind_of(p));
        const pth::Value* end = field(p, "end_step");
        if (end == nullptr) bad_state(name_, "_schedule_phases", "a phase has no end_step");
        Phase ph{to_num(name_, "_schedule_phases.end_step", *end), "", "", "", ""};
        ph.start_lr = phase_key(p, "start_lr");
        ph.end_lr = phase_key(p, "end_lr");
        ph.start_momentum = phase_key(p, "start_momentum");
        ph.end_momentum = phase_key(p, "end_momentum");
        phases.push_back(ph);
      }
      phases_ = std::move(phases);
    }
    anneal_ = read_string(name_, s, "_anneal_func_type", anneal_);
    if (anneal_ != "cos" && anneal_ != "linear") bad_state(name_, "_anneal_func_type", "unknown '" + anneal_ + "'");
    cycle_momentum_ = read_bool(name_, s, "cycle_momentum", cycle_momentum_);
    use_beta1_ = read_bool(name_, s, "use_beta1", use_beta1_);
  }

 private:
  struct Phase {
    Num end_step;
    std::string start_lr, end_lr, start_momentum, end_momentum;
  };
  struct Group {   // what OneCycleLR keeps in optimizer.param_groups[i]
    double initial_lr = 0, min_lr = 0;
    Num max_lr, max_momentum, base_momentum;
    double momentum = 0;   // the momentum / beta1 it sets
  };

  std::string phase_key(const pth::Value& p, const std::string& key) const {
    const pth::Value* v = field(p, key);
    if (v == nullptr || !v->is_string()) bad_state(name_, "_schedule_phases", "a phase has no string '" + key + "'");
    const std::string& s = v->as_string();
    static const std::set<std::string> known = {"initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"};
    if (known.count(s) == 0) bad_state(name_, "_schedule_phases", "unknown group key '" + s + "'");
    return s;
  }

  double value_of(const Group& gr, const std::string& key) const {
    if (key == "initial_lr") return gr.initial_lr;
    if (key == "max_lr") return gr.max_lr.v();
    if (key == "min_lr") return gr.min_lr;
    if (key == "max_momentum") return gr.max_momentum.v();
    return gr.base_momentum.v();
  }

  double anneal(double start, double end, double pct) const {
    if (anneal_ == "cos") {
      const double cos_out = std::cos(kPi * pct) + 1;
      return end + (start - end) / 2.0 * cos_out;
    }
    return (end - start) * pct + start;
  }

  int64_t total_steps_ = 0;
  std::vector<Phase> phases_;
  std::string anneal_ = "cos";
  bool cycle_momentum_ = true;
  bool use_beta1_ = false;
  std::vector<Group> groups_;
};

// --- ReduceLROnPlateau --------------------------------------------------------------------
class ReduceLROnPlateau final : public TorchScheduler {
 public:
  ReduceLROnPlateau(Args& args, const TorchSchedulerContext& ctx) {
    const size_t groups = ctx.base_lrs.size();
    if (groups == 0) throw std::invalid_argument("ReduceLROnPlateau: no param groups");
    lrs_ = ctx.base_lrs;
    mode_ = args.string("mode", "min");
    factor_ = args.num("factor", Num::floating(0.1));
    if (factor_.v() >= 1.0) args.bad("factor", "should be < 1.0");
    patience_ = args.integer("patience", 10);
    threshold_ = args.num("threshold", Num::floating(1e-4));
    threshold_mode_ = args.string("threshold_mode", "rel");
    cooldown_ = args.integer("cooldown", 0);
    min_lrs_ = args.per_group("min_lr", std::vector<Num>(groups, Num::integer(0)), groups);
    eps_ = args.num("eps", Num::floating(1e-8));
    verbose_ = args.boolean("verbose", false);
    if (mode_ != "min" && mode_ != "max") args.bad("mode", "mode " + mode_ + " is unknown!");
    if (threshold_mode_ != "rel" && threshold_mode_ != "abs")
      args.bad("threshold_mode", "threshold mode " + threshold_mode_ + " is unknown!");
    mode_worse_ = mode_ == "min" ? kInf : -kInf;
    best_ = mode_worse_;   // _reset()
    cooldown_counter_ = 0;
    num_bad_epochs_ = 0;
  }

  std::string name() const override { return "ReduceLROnPlateau"; }
  bool steps_on_metric() const override { return true; }
  int64_t last_epoch() const override { return last_epoch_; }

  void step(std::optional<double> metric) override {
    if (!metric) throw std::invalid_argument("ReduceLROnPlateau.step needs the watched metric");
    const double current = *metric;
    last_epoch_ += 1;
    if (is_better(current, best_)) {
      best_ = current;
      num_bad_epochs_ = 0;
    } else {
      num_bad_epochs_ += 1;
    }
    if (cooldown_counter_ > 0) {
      cooldown_counter_ -= 1;
      num_bad_epochs_ = 0;
    }
    if (num_bad_epochs_ > patience_) {
      for (size_t g = 0; g < lrs_.size(); ++g) {
        const double old_lr = lrs_[g];
        const double new_lr = py_max(old_lr * factor_.v(), min_lrs_[g].v());
        if (old_lr - new_lr > eps_.v()) lrs_[g] = new_lr;
      }
      cooldown_counter_ = cooldown_;
      num_bad_epochs_ = 0;
    }
    has_last_lr_ = true;
  }

  pth::Value state_dict() const override {
    pth::Value d = pth::Value::dict();
    put(d, "factor", factor_.value());
    put(d, "min_lrs", num_list(min_lrs_));
    put(d, "patience", pth::Value::integer(patience_));
    put(d, "verbose", pth::Value::boolean(verbose_));
    put(d, "cooldown", pth::Value::integer(cooldown_));
    put(d, "cooldown_counter", pth::Value::integer(cooldown_counter_));
    put(d, "mode", pth::Value::string(mode_));
    put(d, "threshold", threshold_.value());
    put(d, "threshold_mode", pth::Value::string(threshold_mode_));
    put(d, "best", pth::Value::floating(best_));
    put(d, "num_bad_epochs", pth::Value::integer(num_bad_epochs_));
    put(d, "mode_worse", pth::Value::floating(mode_worse_));
    put(d, "eps", eps_.value());
    put(d, "last_epoch", pth::Value::integer(last_epoch_));
    if (has_last_lr_) put(d, "_last_lr", float_list(lrs_));   // PyTorch sets it in the first step()
    return d;
  }

  void load_state_dict(const pth::Value& s) override {
    const std::string n = name();
    require_dict(n, s);
    factor_ = read_num(n, s, "factor", factor_);
    min_lrs_ = read_num_list(n, s, "min_lrs", min_lrs_, lrs_.size());
    patience_ = read_int(n, s, "patience", patience_);
    verbose_ = read_bool(n, s, "verbose", verbose_);
    cooldown_ = read_int(n, s, "cooldown", cooldown_);
    cooldown_counter_ = read_int(n, s, "cooldown_counter", cooldown_counter_);
    mode_ = read_string(n, s, "mode", mode_);
    threshold_ = read_num(n, s, "threshold", threshold_);
    threshold_mode_ = read_string(n, s, "threshold_mode", threshold_mode_);
    best_ = read_double(n, s, "best", best_);
    num_bad_epochs_ = read_int(n, s, "num_bad_epochs", num_bad_epochs_);
    eps_ = read_num(n, s, "eps", eps_);
    last_epoch_ = read_int(n, s, "last_epoch", last_epoch_);
    if (field(s, "_last_lr") != nullptr) {
      lrs_ = read_double_list(n, s, "_last_lr", lrs_);
      has_last_lr_ = true;
    }
    // _init_is_better(): validates the modes and recomputes mode_worse.
    if (mode_ != "min" && mode_ != "max") bad_state(n, "mode", "mode " + mode_ + " is unknown!");
    if (threshold_mode_ != "rel" && threshold_mode_ != "abs")
      bad_state(n, "threshold_mode", "threshold mode " + threshold_mode_ + " is unknown!");
    mode_worse_ = mode_ == "min" ? kInf : -kInf;
  }

  std::vector<std::pair<std::string, pth::Value>> param_group_entries(size_t) const override { return {}; }

 private:
  bool is_better(double a, double best) const {
    const double t = threshold_.v();
    if (mode_ == "min" && threshold_mode_ == "rel") {
      const double rel_epsilon = 1. - t;
      return a < best * rel_epsilon;
    }
    if (mode_ == "min" && threshold_mode_ == "abs") return a < best - t;
    if (mode_ == "max" && threshold_mode_ == "rel") {
      const double rel_epsilon = t + 1.;
      return a > best * rel_epsilon;
    }
    return a > best + t;
  }

  Num factor_;
  std::vector<Num> min_lrs_;
  int64_t patience_ = 10;
  bool verbose_ = false;
  int64_t cooldown_ = 0;
  int64_t cooldown_counter_ = 0;
  std::string mode_ = "min";
  Num threshold_;
  std::string threshold_mode_ = "rel";
  double best_ = kInf;
  int64_t num_bad_epochs_ = 0;
  double mode_worse_ = kInf;
  Num eps_;
  int64_t last_epoch_ = 0;
  bool has_last_lr_ = false;
};

const std::vector<std::string>& known_names() {
  static const std::vector<std::string> names = {"StepLR", "MultiStepLR", "CosineAnnealingLR", "OneCycleLR",
                                                 "ReduceLROnPlateau"};
  return names;
}

// --- YAML ---------------------------------------------------------------------------------

std::optional<int64_t> parse_int(const std::string& s) {
  if (s.empty()) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end == s.c_str() || *end != '\0') return std::nullopt;
  return int64_t(v);
}

std::optional<double> parse_double(const std::string& s) {
  if (s.empty()) return std::nullopt;
  if (s == ".inf" || s == ".Inf" || s == ".INF" || s == "+.inf") return kInf;
  if (s == "-.inf" || s == "-.Inf" || s == "-.INF") return -kInf;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0') return std::nullopt;
  // strtod also takes "inf"/"nan" spelled the C way; YAML would call those strings.
  for (char c : s)
    if (std::isalpha(static_cast<unsigned char>(c)) && c != 'e' && c != 'E') return std::nullopt;
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------

void TorchScheduler::set_lrs(std::vector<double> lrs) {
  if (lrs.size() != lrs_.size())
    throw std::invalid_argument("set_lrs: " + std::to_string(lrs.size()) + " rates for " +
                                std::to_string(lrs_.size()) + " param groups");
  lrs_ = std::move(lrs);
}

std::optional<double> TorchScheduler::momentum(size_t) const { return std::nullopt; }

std::vector<std::pair<std::string, pth::Value>> TorchScheduler::param_group_entries(size_t) const { return {}; }

std::string torch_scheduler_names() {
  std::string out;
  for (const std::string& n : known_names()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool is_torch_scheduler(const std::string& name) {
  for (const std::string& n : known_names())
    if (n == name) return true;
  return false;
}

bool steps_per_batch(const std::string& name) { return name == "OneCycleLR"; }

std::unique_ptr<TorchScheduler> make_torch_scheduler(const std::string& name, const TorchSchedulerParams& params,
                                                     const TorchSchedulerContext& context) {
  if (context.base_lrs.empty()) throw std::invalid_argument(name + ": no param groups");
  Args args(name, params);
  std::unique_ptr<TorchScheduler> out;
  if (name == "ReduceLROnPlateau") {
    out = std::make_unique<ReduceLROnPlateau>(args, context);
    args.finish();
    return out;
  }
  std::unique_ptr<EpochScheduler> s;
  if (name == "StepLR") s = std::make_unique<StepLR>(args, context);
  else if (name == "MultiStepLR") s = std::make_unique<MultiStepLR>(args, context);
  else if (name == "CosineAnnealingLR") s = std::make_unique<CosineAnnealingLR>(args, context);
  else if (name == "OneCycleLR") s = std::make_unique<OneCycleLR>(args, context);
  else throw std::invalid_argument("unknown torch scheduler '" + name + "' (known: " + torch_scheduler_names() + ")");
  args.finish();
  s->initial_step();
  return s;
}

std::unique_ptr<TorchScheduler> make_torch_scheduler(const std::string& name, const TorchSchedulerParams& params,
                                                     double base_lr, int64_t total_steps_for_onecycle,
                                                     bool optimizer_has_betas) {
  TorchSchedulerContext ctx;
  ctx.base_lrs = {base_lr};
  ctx.total_steps = total_steps_for_onecycle;
  ctx.optimizer_has_betas = optimizer_has_betas;
  return make_torch_scheduler(name, params, ctx);
}

TorchSchedulerParams torch_scheduler_params_from_yaml(const YAML::Node& mapping) {
  TorchSchedulerParams out;
  if (!mapping || mapping.IsNull()) return out;
  if (!mapping.IsMap()) throw std::invalid_argument("torch scheduler params: expected a mapping");
  for (const auto& kv : mapping) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (v.IsNull()) continue;
    if (v.IsScalar()) {
      const std::string& s = v.Scalar();
      if (v.Tag() == "!") {   // quoted: a string whatever it looks like
        out[key] = s;
      } else if (auto i = parse_int(s)) {
        out[key] = *i;
      } else if (s == "true" || s == "True" || s == "TRUE") {
        out[key] = true;
      } else if (s == "false" || s == "False" || s == "FALSE") {
        out[key] = false;
      } else if (auto d = parse_double(s)) {
        out[key] = *d;
      } else {
        out[key] = s;
      }
    } else if (v.IsSequence()) {
      std::vector<int64_t> ints;
      std::vector<double> doubles;
      bool all_int = true;
      for (const auto& item : v) {
        if (!item.IsScalar()) throw std::invalid_argument("torch scheduler params: '" + key + "': expected numbers");
        const std::string& s = item.Scalar();
        if (auto i = parse_int(s)) {
          ints.push_back(*i);
          doubles.push_back(double(*i));
        } else if (auto d = parse_double(s)) {
          all_int = false;
          doubles.push_back(*d);
        } else {
          throw std::invalid_argument("torch scheduler params: '" + key + "': '" + s + "' is not a number");
        }
      }
      if (all_int) out[key] = ints;
      else out[key] = doubles;
    } else {
      throw std::invalid_argument("torch scheduler params: '" + key + "': expected a scalar or a list");
    }
  }
  return out;
}

}  // namespace sg
