#include "optim/schedulers/scheduler_base.hpp"

#include <cmath>
#include <stdexcept>

namespace sg {

void TorchScheduler::set_lrs(std::vector<double> lrs) {
  if (lrs.size() != lrs_.size())
    throw std::invalid_argument("set_lrs: " + std::to_string(lrs.size()) + " rates for " + std::to_string(lrs_.size()) +
                                " param groups");
  lrs_ = std::move(lrs);
}

std::optional<double> TorchScheduler::momentum(size_t) const { return std::nullopt; }

std::vector<std::pair<std::string, pth::Value>> TorchScheduler::param_group_entries(size_t) const { return {}; }

namespace schedulers {

// --- reading state dicts ------------------------------------------------------------------

void bad_state(const std::string& sched, const std::string& key, const std::string& what) {
  throw std::runtime_error(sched + " state_dict: '" + key + "': " + what);
}

std::string kind_of(const pth::Value& v) { return std::string(pth::Value::kind_name(v.kind())); }

const pth::Value* field(const pth::Value& state, const std::string& key) { return state.as_dict().find(key); }

void require_dict(const std::string& sched, const pth::Value& state) {
  if (!state.is_dict()) throw std::runtime_error(sched + " state_dict: expected a dict, got " + kind_of(state));
}

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
    bad_state(sched, key,
              "has " + std::to_string(v->items().size()) + " entries for " + std::to_string(groups) + " param groups");
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

const TorchSchedulerParam* Args::find(const std::string& key) {
  used_.insert(key);
  auto it = params_.find(key);
  return it == params_.end() ? nullptr : &it->second;
}

void Args::bad(const std::string& key, const std::string& what) const {
  throw std::invalid_argument(sched_ + ": '" + key + "': " + what);
}

Num Args::num(const std::string& key, Num fallback) {
  const TorchSchedulerParam* p = find(key);
  if (p == nullptr) return fallback;
  if (auto* i = std::get_if<int64_t>(p)) return Num::integer(*i);
  if (auto* d = std::get_if<double>(p)) return Num::floating(*d);
  bad(key, "expected a number");
}

int64_t Args::integer(const std::string& key, int64_t fallback) {
  const TorchSchedulerParam* p = find(key);
  if (p == nullptr) return fallback;
  if (auto* i = std::get_if<int64_t>(p)) return *i;
  bad(key, "expected an integer");
}

bool Args::boolean(const std::string& key, bool fallback) {
  const TorchSchedulerParam* p = find(key);
  if (p == nullptr) return fallback;
  if (auto* b = std::get_if<bool>(p)) return *b;
  bad(key, "expected true or false");
}

std::string Args::string(const std::string& key, const std::string& fallback) {
  const TorchSchedulerParam* p = find(key);
  if (p == nullptr) return fallback;
  if (auto* s = std::get_if<std::string>(p)) return *s;
  bad(key, "expected a string");
}

std::vector<int64_t> Args::int_list(const std::string& key) {
  const TorchSchedulerParam* p = find(key);
  if (p == nullptr) bad(key, "required");
  if (auto* l = std::get_if<std::vector<int64_t>>(p)) return *l;
  if (auto* i = std::get_if<int64_t>(p)) return {*i};
  bad(key, "expected a list of integers");
}

std::vector<Num> Args::per_group(const std::string& key, std::vector<Num> fallback, size_t groups) {
  const TorchSchedulerParam* p = find(key);
  if (p == nullptr) return fallback;
  std::vector<Num> out;
  if (auto* i = std::get_if<int64_t>(p))
    out.assign(groups, Num::integer(*i));
  else if (auto* d = std::get_if<double>(p))
    out.assign(groups, Num::floating(*d));
  else if (auto* li = std::get_if<std::vector<int64_t>>(p))
    for (int64_t x : *li) out.push_back(Num::integer(x));
  else if (auto* ld = std::get_if<std::vector<double>>(p))
    for (double x : *ld) out.push_back(Num::floating(x));
  else
    bad(key, "expected a number or a list of numbers");
  if (out.size() != groups)
    bad(key, "expected " + std::to_string(groups) + " values (one per param group), got " + std::to_string(out.size()));
  return out;
}

void Args::finish() const {
  for (const auto& [key, value] : params_) {
    (void)value;
    if (used_.count(key) != 0 || key == "phase" || key == "metric_name") continue;
    throw std::invalid_argument(sched_ + ": unknown parameter '" + key + "'");
  }
}

// --- _LRScheduler ---------------------------------------------------------------------------

EpochScheduler::EpochScheduler(std::string name, Args& args, const std::vector<double>& base_lrs)
    : name_(std::move(name)), base_lrs_(base_lrs) {
  const int64_t last_epoch = args.integer("last_epoch", -1);
  if (last_epoch != -1)
    args.bad("last_epoch", "only -1 (a fresh scheduler) is supported; restore state with load_state_dict");
  verbose_ = args.boolean("verbose", false);
  lrs_ = base_lrs_;
}

void EpochScheduler::step(std::optional<double> /*metric*/) {
  check_can_step();
  ++step_count_;
  ++last_epoch_;
  lrs_ = get_lr();
}

pth::Value EpochScheduler::state_dict() const {
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

void EpochScheduler::load_state_dict(const pth::Value& state) {
  require_dict(name_, state);
  read_fields(state);
  base_lrs_ = read_double_list(name_, state, "base_lrs", base_lrs_);
  last_epoch_ = read_int(name_, state, "last_epoch", last_epoch_);
  verbose_ = read_bool(name_, state, "verbose", verbose_);
  step_count_ = read_int(name_, state, "_step_count", step_count_);
  lrs_ = read_double_list(name_, state, "_last_lr", lrs_);
}

std::vector<std::pair<std::string, pth::Value>> EpochScheduler::param_group_entries(size_t group) const {
  return {{"initial_lr", pth::Value::floating(base_lrs_.at(group))}};
}

PeriodicScheduler::PeriodicScheduler(std::string name, Args& args, const TorchSchedulerContext& ctx,
                                     std::string period_key, std::string number_key, Num number_default)
    : EpochScheduler(std::move(name), args, ctx.base_lrs),
      period_key_(std::move(period_key)),
      number_key_(std::move(number_key)) {
  if (!args.has(period_key_)) args.bad(period_key_, "required");
  period_ = args.integer(period_key_, 0);
  if (period_ <= 0) args.bad(period_key_, "must be a positive integer");
  number_ = args.num(number_key_, number_default);
}

void PeriodicScheduler::write_fields(pth::Value& d) const {
  put(d, period_key_, pth::Value::integer(period_));
  put(d, number_key_, number_.value());
}

void PeriodicScheduler::read_fields(const pth::Value& state) {
  period_ = read_int(name_, state, period_key_, period_);
  if (period_ == 0) bad_state(name_, period_key_, "is 0");
  number_ = read_num(name_, state, number_key_, number_);
}

}  // namespace schedulers
}  // namespace sg
