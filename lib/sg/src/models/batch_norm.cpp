#include "sg/models/batch_norm.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include <torch/autograd.h>
#include <torch/nn/functional/batchnorm.h>
#include <torch/nn/modules/batchnorm.h>

#include "sg/dist/collective.hpp"

namespace sg {
namespace models {
namespace {

using torch::Tensor;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

const std::vector<int64_t> kReduced = {0, 2, 3};   // all but the channels of (N, C, H, W)

Tensor per_channel(const Tensor& t) { return t.view({1, -1, 1, 1}); }

// The whole batch's per-channel mean and biased variance (double) and its number of values
// per channel, from every process's sums and sums of squares (in double: the variance is
// their difference), in one all-reduce.
struct GlobalStatistics {
  Tensor mean, var;
  int64_t count;
};

GlobalStatistics global_statistics(const Tensor& input, Collective& collective) {
  const Tensor x = input.detach().to(torch::kDouble);
  const int64_t local_count = input.numel() / std::max<int64_t>(1, input.size(1));
  Tensor packed = torch::cat({x.sum(kReduced), x.square().sum(kReduced),
                              torch::full({1}, double(local_count), x.options())});
  collective.all_reduce_sum(packed);
  const int64_t channels = input.size(1);
  GlobalStatistics s;
  s.count = int64_t(packed[2 * channels].item<double>());
  TORCH_CHECK(s.count > 1, "Expected more than 1 value per channel when training, got ", s.count,
              " over all processes (input size ", input.sizes(), " here)");
  s.mean = packed.narrow(0, 0, channels) / double(s.count);
  s.var = (packed.narrow(0, channels, channels) / double(s.count) - s.mean.square()).clamp_min(0);
  return s;
}

// y = (x - mean) * invstd * weight + bias with the statistics given (weight and bias
// defined: autograd's Function takes no undefined input). Backward sums grad_out and
// grad_out * x_hat over every process for the input gradient (the statistics depend on
// every process's input) and keeps the local sums as weight and bias gradients.
class SynchronisedNormalisation : public torch::autograd::Function<SynchronisedNormalisation> {
 public:
  static Tensor forward(AutogradContext* ctx, const Tensor& input, const Tensor& weight, const Tensor& bias,
                        const Tensor& mean, const Tensor& invstd, int64_t count, Collective* collective) {
    ctx->save_for_backward({input, weight, mean, invstd});
    ctx->saved_data["count"] = count;
    ctx->saved_data["collective"] = reinterpret_cast<int64_t>(collective);
    const Tensor scale = invstd * weight;
    return input * per_channel(scale) + per_channel(bias - mean * scale);
  }

  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const Tensor &input = saved[0], &weight = saved[1], &mean = saved[2], &invstd = saved[3];
    const auto count = double(ctx->saved_data["count"].toInt());
    auto* collective = reinterpret_cast<Collective*>(ctx->saved_data["collective"].toInt());
    const Tensor grad = grad_outputs[0].contiguous();
    const Tensor x_hat = (input - per_channel(mean)) * per_channel(invstd);
    const Tensor local_sum_grad = grad.sum(kReduced, false, torch::kDouble);
    const Tensor local_sum_grad_x_hat = (grad * x_hat).sum(kReduced, false, torch::kDouble);
    Tensor sums = torch::cat({local_sum_grad, local_sum_grad_x_hat});
    collective->all_reduce_sum(sums);
    const int64_t channels = input.size(1);
    const Tensor mean_grad = (sums.narrow(0, 0, channels) / count).to(input.scalar_type());
    const Tensor mean_grad_x_hat = (sums.narrow(0, channels, channels) / count).to(input.scalar_type());
    const Tensor grad_input =
        (grad - per_channel(mean_grad) - x_hat * per_channel(mean_grad_x_hat)) * per_channel(invstd * weight);
    return {grad_input, local_sum_grad_x_hat.to(weight.scalar_type()), local_sum_grad.to(weight.scalar_type()),
            Tensor(), Tensor(), Tensor(), Tensor()};
  }
};

}  // namespace

Tensor BatchNorm2dImpl::forward(const Tensor& input) {
  _check_input_dim(input);
  // LibTorch's BatchNorm forward: the running average's factor, then its batch_norm call.
  double factor = options.momentum().value_or(0.0);
  if (is_training() && options.track_running_stats() && num_batches_tracked.defined()) {
    num_batches_tracked += 1;
    if (!options.momentum()) factor = 1.0 / num_batches_tracked.item<double>();
  }
  if (collective_ == nullptr || !is_training())
    return torch::nn::functional::detail::batch_norm(input, running_mean, running_var, weight, bias,
                                                     is_training() || !options.track_running_stats(), factor,
                                                     options.eps());
  const GlobalStatistics s = global_statistics(input, *collective_);
  if (running_mean.defined()) {
    torch::NoGradGuard no_grad;
    const Tensor unbiased = s.var * (double(s.count) / double(s.count - 1));
    running_mean.copy_(s.mean * factor + running_mean.to(torch::kDouble) * (1 - factor));
    running_var.copy_(unbiased * factor + running_var.to(torch::kDouble) * (1 - factor));
  }
  const Tensor mean = s.mean.to(input.scalar_type());
  const Tensor invstd = (s.var + options.eps()).rsqrt().to(input.scalar_type());
  if (!options.affine()) {
    const Tensor ones = torch::ones_like(mean), zeros = torch::zeros_like(mean);
    return SynchronisedNormalisation::apply(input, ones, zeros, mean, invstd, s.count, collective_);
  }
  return SynchronisedNormalisation::apply(input, weight, bias, mean, invstd, s.count, collective_);
}

void BatchNorm2dImpl::_check_input_dim(const Tensor& input) {
  TORCH_CHECK(input.dim() == 4, "expected 4D input (got ", input.dim(), "D input)");
}

void BatchNorm2dImpl::pretty_print(std::ostream& stream) const {
  stream << "sg::models::BatchNorm2d(" << options.num_features() << ", eps=" << options.eps() << ", momentum=";
  if (options.momentum()) stream << *options.momentum();
  else stream << "None";
  stream << ", affine=" << options.affine() << ", track_running_stats=" << options.track_running_stats()
         << (collective_ ? ", synchronised" : "") << ")";
}

}  // namespace models

size_t enable_sync_batch_norm(torch::nn::Module& model, Collective& collective) {
  std::vector<models::BatchNorm2dImpl*> ours;
  auto visit = [&](torch::nn::Module& m, const std::string& name) {
    if (auto* bn = m.as<models::BatchNorm2dImpl>()) {
      ours.push_back(bn);
    } else if (m.as<torch::nn::BatchNorm1dImpl>() || m.as<torch::nn::BatchNorm2dImpl>() ||
               m.as<torch::nn::BatchNorm3dImpl>()) {
      throw std::invalid_argument("sync_bn: " + name + " is " + m.name() +
                                  ", not sg::models::BatchNorm2d: its statistics cannot be made global");
    }
  };
  // named_modules can include the top module only when it is held by a shared_ptr.
  visit(model, "the model itself");
  for (const auto& item : model.named_modules("", /*include_self=*/false))
    visit(*item.value(), "module '" + item.key() + "'");
  for (auto* bn : ours) bn->synchronise(&collective);
  return ours.size();
}

}  // namespace sg
