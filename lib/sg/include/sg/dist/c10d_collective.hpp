#pragma once
// The collective of a torchrun job over c10d: the Gloo process group for CPU workers, the
// NCCL one for CUDA workers where LibTorch was built with it (USE_C10D_NCCL; Debian's
// LibTorch is not, so that path is written but not built or run here). Its store is torchrun's
// agent store when torchrun says so (TORCHELASTIC_USE_AGENT_STORE, the static rendezvous),
// else one that rank 0 serves at MASTER_ADDR:MASTER_PORT. Every call waits at most
// `timeout`; a peer that is gone or late makes it throw std::runtime_error with one line
// naming the collective.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "sg/dist/collective.hpp"
#include "sg/dist/torchrun_env.hpp"

namespace sg {

class C10dCollective final : public Collective {
 public:
  static constexpr int64_t kDefaultBucketBytes = int64_t{25} << 20;   // Python DDP's bucket_cap_mb

  // Connects to every rank (within `timeout`); throws std::runtime_error when it cannot.
  // `device`: where this worker trains (a CUDA device: NCCL, its collectives on that
  // device; the CPU: Gloo).
  C10dCollective(const TorchrunEnvironment& env, std::chrono::milliseconds timeout,
                 int64_t bucket_bytes = kDefaultBucketBytes, const torch::Device& device = torch::kCPU);
  ~C10dCollective() override;

  int64_t rank() const override { return rank_; }
  int64_t world_size() const override { return world_size_; }
  void broadcast_weights(const std::vector<torch::Tensor>& tensors) override;
  // A parameter with a gradient on some rank gets the mean on all (zeros where a rank has
  // none, as Python DDP counts unused parameters); one with none anywhere keeps none. One
  // all-reduce per bucket carries the gradients, which ranks have each, and the requests.
  StepRequests average_gradients(const std::vector<torch::Tensor>& parameters, StepRequests asked) override;
  void all_reduce_sum(const torch::Tensor& tensor) override;
  void sum_counts(MetricAccumulator::Counts& counts) override;
  bool any(bool asked) override;
  std::string agree_on_run_directory(const std::string& chosen) override;
  void barrier() override;

 private:
  struct Group;
  std::unique_ptr<Group> group_;
  int64_t rank_, world_size_, bucket_bytes_;
};

}  // namespace sg
