// The update of SuperGradients' RMSpropTF (super_gradients/training/utils/optimizers/rmsprop_tf.py),
// with the same tensor operations in the same order, so that the results are bit-identical.
#include "optim/rmsprop_tf.hpp"

#include <torch/torch.h>

namespace sg::optim_detail {

RMSpropTF::RMSpropTF(std::vector<torch::optim::OptimizerParamGroup> groups, const RMSpropTFOptions& defaults)
    : torch::optim::Optimizer(std::move(groups), std::make_unique<RMSpropTFOptions>(defaults)) {
  TORCH_CHECK(defaults.lr() >= 0, "Invalid learning rate: ", defaults.lr());
  TORCH_CHECK(defaults.eps() >= 0, "Invalid epsilon value: ", defaults.eps());
  TORCH_CHECK(defaults.momentum() >= 0, "Invalid momentum value: ", defaults.momentum());
  TORCH_CHECK(defaults.weight_decay() >= 0, "Invalid weight_decay value: ", defaults.weight_decay());
  TORCH_CHECK(defaults.alpha() >= 0, "Invalid alpha value: ", defaults.alpha());
}

torch::Tensor RMSpropTF::step(LossClosure closure) {
  torch::NoGradGuard no_grad;
  torch::Tensor loss = {};
  if (closure != nullptr) {
    at::AutoGradMode enable_grad(true);
    loss = closure();
  }
  for (auto& group : param_groups_) {
    const auto& o = static_cast<const RMSpropTFOptions&>(group.options());
    for (auto& p : group.params()) {
      if (!p.grad().defined()) continue;
      torch::Tensor grad = p.grad();
      TORCH_CHECK(!grad.is_sparse(), "RMSpropTF does not support sparse gradients");
      const std::string key = c10::guts::to_string(p.unsafeGetTensorImpl());
      auto found = state_.find(key);
      if (found == state_.end()) {
        auto s = std::make_unique<RMSpropTFParamState>();
        s->square_avg(torch::ones_like(p));
        if (o.momentum() > 0) s->momentum_buffer(torch::zeros_like(p));
        if (o.centered()) s->grad_avg(torch::zeros_like(p));
        found = state_.emplace(key, std::move(s)).first;
      }
      auto& s = static_cast<RMSpropTFParamState&>(*found->second);
      torch::Tensor square_avg = s.square_avg();
      const double one_minus_alpha = 1.0 - o.alpha();
      s.step(s.step() + 1);
      if (o.weight_decay() != 0) {
        if (o.decoupled_decay()) p.add_(p, -o.weight_decay());
        else grad = grad.add(p, o.weight_decay());
      }
      square_avg.add_(grad.pow(2) - square_avg, one_minus_alpha);
      torch::Tensor avg;
      if (o.centered()) {
        torch::Tensor grad_avg = s.grad_avg();
        grad_avg.add_(grad - grad_avg, one_minus_alpha);
        avg = square_avg.addcmul(grad_avg, grad_avg, -1).add(o.eps()).sqrt_();
      } else {
        avg = square_avg.add(o.eps()).sqrt_();
      }
      if (o.momentum() > 0) {
        torch::Tensor buf = s.momentum_buffer();
        TORCH_CHECK(buf.defined(), "RMSpropTF: momentum turned on after the first step");
        if (o.lr_in_momentum()) {
          buf.mul_(o.momentum()).addcdiv_(grad, avg, o.lr());
          p.add_(-buf);
        } else {
          buf.mul_(o.momentum()).addcdiv_(grad, avg);
          p.add_(buf, -o.lr());
        }
      } else {
        p.addcdiv_(grad, avg, -o.lr());
      }
    }
  }
  return loss;
}

}  // namespace sg::optim_detail
