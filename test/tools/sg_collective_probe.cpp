// sg_collective_probe: every method of sg::C10dCollective with rank-dependent values, run by
// test/python/test_c10d_collective.py under torchrun.
//
//   torchrun --no-python --nproc-per-node N sg_collective_probe --out DIR [--timeout-ms MS]
//       [--bucket-bytes B] [--rank1-exit-before NAME | --rank1-stall-before NAME]
//
// Each rank writes DIR/rank<R>.pth = {"inputs": what it passed, "outputs": what it got}.
// --rank1-exit-before NAME: rank 1 returns (exit 0, closing its connections) instead of
// calling NAME; --rank1-stall-before NAME: rank 1 blocks without calling it (until torchrun
// ends it). NAME: broadcast_weights, average_gradients, sum_counts, any,
// agree_on_run_directory, barrier. The others then fail within the timeout.
//
// Exit codes: 0 done; 1 a collective failed (one line on stderr); 2 usage error.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <exception>
#include <set>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "cli_numbers.hpp"
#include "pth/checkpoint.hpp"
#include "sg/checkpoint/tensor_convert.hpp"
#include "sg/dist/c10d_collective.hpp"
#include "sg/dist/torchrun_env.hpp"

namespace {

const std::set<std::string> kCollectives = {"broadcast_weights", "average_gradients", "sum_counts",
                                            "any",               "agree_on_run_directory", "barrier"};

struct Options {
  std::string out;
  int64_t timeout_ms = 10000;
  int64_t bucket_bytes = sg::C10dCollective::kDefaultBucketBytes;
  std::string exit_before, stall_before;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) throw UsageError("option " + a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--out") o.out = v;
    else if (a == "--timeout-ms") o.timeout_ms = parse_count(v, "--timeout-ms", 1);
    else if (a == "--bucket-bytes") o.bucket_bytes = parse_count(v, "--bucket-bytes", 1);
    else if (a == "--rank1-exit-before") o.exit_before = v;
    else if (a == "--rank1-stall-before") o.stall_before = v;
    else throw UsageError("unknown option " + a);
  }
  if (o.out.empty()) throw UsageError("--out DIR is required");
  for (const std::string* name : {&o.exit_before, &o.stall_before})
    if (!name->empty() && !kCollectives.count(*name)) throw UsageError("no collective named '" + *name + "'");
  return o;
}

pth::Value tensors(const std::vector<torch::Tensor>& list) {
  pth::List items;
  // Copies: to_pth shares the tensor's memory, and the collectives change it in place.
  for (const torch::Tensor& t : list) items.push_back(t.defined() ? sg::to_pth(t.detach().clone()) : pth::Value());
  return pth::Value::list(std::move(items));
}

std::vector<torch::Tensor> grads_of(const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> grads;
  for (const torch::Tensor& p : params) grads.push_back(p.grad());
  return grads;
}

pth::Value counts_value(const sg::MetricAccumulator::Counts& c) {
  pth::Value v = pth::Value::dict();
  v.as_dict().set("samples", pth::Value::integer(c.samples));
  v.as_dict().set("top1", pth::Value::integer(c.top1));
  v.as_dict().set("top5", pth::Value::integer(c.top5));
  v.as_dict().set("loss_sum", pth::Value::floating(c.loss_sum));
  return v;
}

int run(const Options& o) {
  const auto env = sg::read_torchrun_environment();
  if (!env) throw UsageError("run me under torchrun (no RANK, WORLD_SIZE, ... in the environment)");
  const int64_t r = env->rank;
  // Whether this rank stops short of `name` (rank 1 only, as asked).
  auto leaves_before = [&](const std::string& name) {
    if (r != 1) return false;
    if (name == o.stall_before) {
      std::fprintf(stderr, "sg_collective_probe: rank 1 stalls before %s\n", name.c_str());
      for (;;) pause();   // a live peer that never arrives: torchrun ends it
    }
    if (name == o.exit_before) std::fprintf(stderr, "sg_collective_probe: rank 1 leaves before %s\n", name.c_str());
    return name == o.exit_before;
  };

  sg::C10dCollective collective(*env, std::chrono::milliseconds(o.timeout_ms), o.bucket_bytes);
  pth::Value inputs = pth::Value::dict(), outputs = pth::Value::dict();
  auto& in = inputs.as_dict();
  auto& out = outputs.as_dict();
  out.set("rank", pth::Value::integer(collective.rank()));
  out.set("world_size", pth::Value::integer(collective.world_size()));

  const double rf = double(r);
  std::vector<torch::Tensor> weights = {
      (torch::arange(12, torch::kFloat32) * 0.5 + 100 * rf).reshape({3, 4}).set_requires_grad(true),
      torch::arange(5, torch::kInt64) + 10 * r,
      (torch::arange(6, torch::kFloat64) / 3 + rf).reshape({2, 3})};
  in.set("weights", tensors(weights));
  if (leaves_before("broadcast_weights")) return 0;
  collective.broadcast_weights(weights);
  out.set("weights", tensors(weights));

  // Parameters 2 and 5 have a gradient on one rank only, 3 on none; 0's is not contiguous.
  std::vector<torch::Tensor> params = {torch::zeros({3, 4}), torch::zeros({7}), torch::zeros({2, 2}),
                                       torch::zeros({3}),    torch::zeros({4}, torch::kFloat64), torch::zeros({1})};
  params[0].mutable_grad() = ((torch::arange(12, torch::kFloat32) - 5) * (rf + 1) * 0.1).reshape({4, 3}).t();
  params[1].mutable_grad() = 1 / (torch::arange(7, torch::kFloat32) + 1 + rf);
  if (r == 0) params[2].mutable_grad() = (torch::arange(4, torch::kFloat32) + 1).reshape({2, 2});
  params[4].mutable_grad() = torch::arange(4, torch::kFloat64) * (rf + 0.25);
  if (r == 1) params[5].mutable_grad() = torch::full({1}, 3 + rf);
  in.set("params", tensors(params));
  in.set("grads", tensors(grads_of(params)));
  if (leaves_before("average_gradients")) return 0;
  const sg::StepRequests agreed = collective.average_gradients(params, {/*stop=*/r == 1, /*save=*/false});
  out.set("average_gradients_stop", pth::Value::boolean(agreed.stop));
  out.set("average_gradients_save", pth::Value::boolean(agreed.save));
  out.set("grads", tensors(grads_of(params)));

  sg::MetricAccumulator::Counts counts;
  counts.samples = 10 + r;
  counts.top1 = 3 * r;
  counts.top5 = 5 + r;
  counts.loss_sum = 0.25 + 1.5 * rf;
  in.set("counts", counts_value(counts));
  if (leaves_before("sum_counts")) return 0;
  collective.sum_counts(counts);
  out.set("counts", counts_value(counts));

  if (leaves_before("any")) return 0;
  out.set("any_rank1_asked", pth::Value::boolean(collective.any(r == 1)));
  out.set("any_none_asked", pth::Value::boolean(collective.any(false)));

  const std::string chosen = "runs/RUN_" + std::to_string(r) + "_\xc3\xbc";
  in.set("run_directory", pth::Value::string(chosen));
  if (leaves_before("agree_on_run_directory")) return 0;
  out.set("run_directory", pth::Value::string(collective.agree_on_run_directory(chosen)));
  out.set("empty_run_directory", pth::Value::string(collective.agree_on_run_directory(r == 0 ? "" : "x")));

  if (leaves_before("barrier")) return 0;
  collective.barrier();

  pth::Value doc = pth::Value::dict();
  doc.as_dict().set("inputs", inputs);
  doc.as_dict().set("outputs", outputs);
  pth::write_checkpoint(o.out + "/rank" + std::to_string(r) + ".pth", doc);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return tool_main("sg_collective_probe", [&] { return parse(argc, argv); }, run);
}
