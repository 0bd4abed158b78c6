#include "sg/dist/c10d_collective.hpp"

#include <cstdlib>
#include <functional>
#include <sstream>
#include <stdexcept>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include "dist/buckets.hpp"

namespace sg {
namespace {

std::string first_line(std::string text) {
  const size_t end = text.find_first_of("\r\n");
  if (end != std::string::npos) text.resize(end);
  return text;
}

std::string cause_of(const std::exception& e) {
  if (auto* error = dynamic_cast<const c10::Error*>(&e)) return first_line(error->what_without_backtrace());
  return first_line(e.what());
}

std::string seconds(std::chrono::milliseconds t) {
  std::ostringstream out;
  out << double(t.count()) / 1000 << " s";
  return out.str();
}

// Python's choice: the interfaces named by GLOO_SOCKET_IFNAME, else the address this
// host's name resolves to (loopback when it resolves to none).
std::vector<std::shared_ptr<gloo::transport::Device>> gloo_devices() {
  std::vector<std::shared_ptr<gloo::transport::Device>> devices;
  const char* names = std::getenv("GLOO_SOCKET_IFNAME");
  if (names == nullptr || *names == '\0') return {c10d::ProcessGroupGloo::createDefaultDevice()};
  std::istringstream list(names);
  for (std::string name; std::getline(list, name, ',');) {
    if (name.empty()) throw std::runtime_error("GLOO_SOCKET_IFNAME='" + std::string(names) + "' names an empty interface");
    devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(name));
  }
  return devices;
}

c10::intrusive_ptr<c10d::ProcessGroup> gloo_group(const c10::intrusive_ptr<c10d::Store>& store, int64_t rank,
                                                  int64_t size, std::chrono::milliseconds timeout) {
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  options->devices = gloo_devices();
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, int(rank), int(size), options);
}

c10::intrusive_ptr<c10d::ProcessGroup> nccl_group(const c10::intrusive_ptr<c10d::Store>& store, int64_t rank,
                                                  int64_t size, std::chrono::milliseconds timeout) {
#ifdef USE_C10D_NCCL
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, int(rank), int(size), options);
#else
  (void)store, (void)rank, (void)size, (void)timeout;
  throw std::runtime_error("CUDA workers need c10d's NCCL process group, which this LibTorch was built without "
                           "(training_hyperparams.device=cpu trains the workers over Gloo)");
#endif
}

}  // namespace

struct C10dCollective::Group {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  torch::Device device = torch::kCPU;   // where the collectives' tensors must be (NCCL: the GPU)
  std::chrono::milliseconds timeout;
  std::string where;   // "rank R of W"
  std::string peer;    // of two ranks, the other one: the rank a failure lost

  std::runtime_error failure(const std::string& what, const std::string& cause) const {
    const bool late = cause.find("imed out") != std::string::npos || cause.find("imeout") != std::string::npos;
    // Gloo names the peer's address, not its rank; with two ranks the lost one is known.
    const std::string lost = peer.empty() ? "" : (late ? ", waiting for " : ", lost ") + peer;
    return std::runtime_error("c10d " + what + (late ? " timed out" : " failed") + " on " + where + lost +
                              " (collective timeout " + seconds(timeout) + "): " + cause);
  }

  // Starts a collective and waits for it within the timeout.
  void run(const std::string& what, const std::function<c10::intrusive_ptr<c10d::Work>()>& start) const {
    try {
      start()->wait(timeout);
    } catch (const std::exception& e) {
      throw failure(what, cause_of(e));
    }
  }

  // `tensor` changed in place; one elsewhere than `device` (a CPU count under NCCL) goes
  // through a copy there.
  void allreduce(const std::string& what, torch::Tensor& tensor, c10d::ReduceOp op) const {
    c10d::AllreduceOptions options;
    options.reduceOp = op;
    options.timeout = timeout;
    on_device(tensor, [&](std::vector<at::Tensor>& tensors) {
      run(what, [&] { return pg->allreduce(tensors, options); });
    });
  }

  void broadcast(const std::string& what, torch::Tensor& tensor) const {
    c10d::BroadcastOptions options;
    options.rootRank = 0;
    options.timeout = timeout;
    on_device(tensor, [&](std::vector<at::Tensor>& tensors) {
      run(what, [&] { return pg->broadcast(tensors, options); });
    });
  }

  void on_device(torch::Tensor& tensor, const std::function<void(std::vector<at::Tensor>&)>& collective) const {
    std::vector<at::Tensor> tensors{tensor.device() == device ? tensor : tensor.to(device)};
    collective(tensors);
    if (!tensors[0].is_same(tensor)) tensor.copy_(tensors[0]);
  }
};

C10dCollective::C10dCollective(const TorchrunEnvironment& env, std::chrono::milliseconds timeout, int64_t bucket_bytes,
                               const torch::Device& device)
    : group_(std::make_unique<Group>()), rank_(env.rank), world_size_(env.world_size), bucket_bytes_(bucket_bytes) {
  if (timeout.count() <= 0) throw std::invalid_argument("the collective timeout must be positive, not " + seconds(timeout));
  if (bucket_bytes < 1) throw std::invalid_argument("the gradient bucket size must be at least 1 byte");
  group_->timeout = timeout;
  group_->device = device;
  group_->where = "rank " + std::to_string(env.rank) + " of " + std::to_string(env.world_size);
  if (env.world_size == 2) group_->peer = "rank " + std::to_string(1 - env.rank);
  const std::string endpoint = env.master_addr + ":" + std::to_string(env.master_port);
  try {
    c10d::TCPStoreOptions options;
    options.port = uint16_t(env.master_port);
    options.timeout = timeout;
    c10::intrusive_ptr<c10d::Store> store;
    if (env.use_agent_store) {
      options.isServer = false;
      options.waitWorkers = false;
      // The same prefix as Python's init_process_group under torchrun: each restart apart.
      store = c10::make_intrusive<c10d::PrefixStore>("/worker/attempt_" + std::to_string(env.restart_count),
                                                     c10::make_intrusive<c10d::TCPStore>(env.master_addr, options));
    } else {
      options.isServer = env.rank == 0;
      options.numWorkers = size_t(env.world_size);
      store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    }
    group_->store = c10::make_intrusive<c10d::PrefixStore>("sg/", store);
    group_->pg = device.is_cuda() ? nccl_group(group_->store, env.rank, env.world_size, timeout)
                                  : gloo_group(group_->store, env.rank, env.world_size, timeout);
  } catch (const std::exception& e) {
    throw std::runtime_error("c10d: " + group_->where + " could not join the group at " + endpoint + " within " +
                             seconds(timeout) + ": " + cause_of(e));
  }
}

C10dCollective::~C10dCollective() = default;

void C10dCollective::broadcast_weights(const std::vector<torch::Tensor>& tensors) {
  for (const Bucket& bucket : plan_buckets(tensors, bucket_bytes_)) {
    torch::Tensor flat = flatten_bucket(bucket, tensors);
    group_->broadcast("broadcast_weights", flat);
    if (rank_ != 0) unflatten_bucket(flat, bucket, tensors);
  }
}

StepRequests C10dCollective::average_gradients(const std::vector<torch::Tensor>& parameters, StepRequests asked) {
  // Every parameter is packed (zeros where this rank has no gradient), followed in its
  // bucket by one presence entry per member and, in the last bucket, the requests: no
  // rank needs to know beforehand which gradients the others have, and a step costs one
  // collective per bucket, the latency that dominates small models.
  std::vector<torch::Tensor> grads;
  grads.reserve(parameters.size());
  for (const torch::Tensor& p : parameters)
    grads.push_back(p.grad().defined() ? p.grad() : torch::zeros_like(p, at::MemoryFormat::Contiguous));
  std::vector<Bucket> buckets = plan_buckets(grads, bucket_bytes_);
  if (buckets.empty()) return {any(asked.stop), any(asked.save)};
  StepRequests agreed;
  for (size_t b = 0; b < buckets.size(); ++b) {
    const Bucket& bucket = buckets[b];
    const bool last = b + 1 == buckets.size();
    const int64_t members = int64_t(bucket.members.size());
    std::vector<float> marks;
    for (size_t i : bucket.members) marks.push_back(parameters[i].grad().defined() ? 1 : 0);
    if (last) {
      marks.push_back(asked.stop ? 1 : 0);
      marks.push_back(asked.save ? 1 : 0);
    }
    const torch::Tensor tail = torch::tensor(marks).to(grads[bucket.members.front()].options());
    torch::Tensor flat = flatten_bucket(bucket, grads, tail);
    const int64_t values = flat.numel() - tail.numel();
    flat.narrow(0, 0, values).div_(double(world_size_));   // before the sum, as Python DDP's default hook
    group_->allreduce("average_gradients", flat, c10d::ReduceOp::SUM);
    unflatten_bucket(flat.narrow(0, 0, values), bucket, grads);
    const torch::Tensor sums = flat.narrow(0, values, tail.numel()).to(torch::kCPU, torch::kFloat32).contiguous();
    const float* seen = sums.data_ptr<float>();
    for (int64_t j = 0; j < members; ++j) {
      torch::Tensor p = parameters[bucket.members[size_t(j)]];
      if (seen[j] > 0 && !p.grad().defined()) p.mutable_grad() = grads[bucket.members[size_t(j)]];
    }
    if (last) agreed = {seen[members] > 0, seen[members + 1] > 0};
  }
  return agreed;
}

void C10dCollective::all_reduce_sum(const torch::Tensor& tensor) {
  if (!tensor.defined() || !tensor.is_contiguous())
    throw std::invalid_argument("all_reduce_sum: the tensor must be defined and contiguous");
  torch::Tensor shared = tensor;
  group_->allreduce("all_reduce_sum", shared, c10d::ReduceOp::SUM);
}

void C10dCollective::sum_counts(MetricAccumulator::Counts& counts) {
  torch::Tensor integers = torch::tensor({counts.samples, counts.top1, counts.top5}, torch::kInt64);
  torch::Tensor loss = torch::tensor({counts.loss_sum}, torch::kFloat64);
  group_->allreduce("sum_counts", integers, c10d::ReduceOp::SUM);
  group_->allreduce("sum_counts", loss, c10d::ReduceOp::SUM);
  const auto* n = integers.data_ptr<int64_t>();
  counts.samples = n[0];
  counts.top1 = n[1];
  counts.top5 = n[2];
  counts.loss_sum = loss.data_ptr<double>()[0];
}

bool C10dCollective::any(bool asked) {
  torch::Tensor flag = torch::tensor({int32_t(asked ? 1 : 0)}, torch::kInt32);
  group_->allreduce("any", flag, c10d::ReduceOp::MAX);
  return flag.data_ptr<int32_t>()[0] != 0;
}

std::string C10dCollective::agree_on_run_directory(const std::string& chosen) {
  torch::Tensor length = torch::tensor({int64_t(chosen.size())}, torch::kInt64);
  group_->broadcast("agree_on_run_directory", length);
  const int64_t n = length.data_ptr<int64_t>()[0];
  if (n == 0) return {};
  torch::Tensor bytes = torch::empty({n}, torch::kUInt8);
  if (rank_ == 0) std::copy(chosen.begin(), chosen.end(), bytes.data_ptr<uint8_t>());
  group_->broadcast("agree_on_run_directory", bytes);
  return std::string(reinterpret_cast<const char*>(bytes.data_ptr<uint8_t>()), size_t(n));
}

void C10dCollective::barrier() {
  c10d::BarrierOptions options;
  options.timeout = group_->timeout;
  group_->run("barrier", [&] { return group_->pg->barrier(options); });
}

}  // namespace sg
