// torch.optim.lr_scheduler.OneCycleLR: stepped per batch; the rate (and the momentum or beta1,
// with cycle_momentum) annealed through two or three phases.
#include <cmath>
#include <set>
#include <stdexcept>

#include "optim/schedulers/scheduler_base.hpp"

namespace sg::schedulers {
namespace {

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
      if (total_steps_ <= 0) args.bad("total_steps", "give total_steps, or epochs and steps_per_epoch");
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
    const std::vector<Num> max_m =
        args.per_group("max_momentum", std::vector<Num>(groups, Num::floating(0.95)), groups);
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
            throw std::runtime_error(
                "OneCycleLR: a phase of zero length (ZeroDivisionError in PyTorch); "
                "change pct_start or total_steps");
          const double pct = (double(step_num) - start_step) / (end_step - start_step);
          out.push_back(anneal(value_of(gr, ph.start_lr), value_of(gr, ph.end_lr), pct));
          if (cycle_momentum_)
            gr.momentum = anneal(value_of(gr, ph.start_momentum), value_of(gr, ph.end_momentum), pct);
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
    put(d, "_anneal_func_type", pth::Value::string(anneal_));  // in place of PyTorch 1.13's bound `anneal_func`
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
  struct Group {  // what OneCycleLR keeps in optimizer.param_groups[i]
    double initial_lr = 0, min_lr = 0;
    Num max_lr, max_momentum, base_momentum;
    double momentum = 0;  // the momentum / beta1 it sets
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

}  // namespace

std::unique_ptr<TorchScheduler> make_one_cycle_lr(Args& args, const TorchSchedulerContext& context) {
  return make_epoch_scheduler<OneCycleLR>(args, context);
}

}  // namespace sg::schedulers
