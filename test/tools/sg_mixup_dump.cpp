// sg_mixup_dump: our CollateMixup on a given batch, for test/python/test_sg_mixup.py.
//
//   sg_mixup_dump COLLATE_FN IN.pth SEED EPOCH OUT.pth
//       COLLATE_FN: a recipe's collate_fn value as YAML (read as the recipe reader reads
//       dataset_params.train_dataloader_params.collate_fn). IN.pth = {"batches": [{"index":
//       batch index, "images": float32 (N, C, H, W), "labels": int64 (N)}, ...]}. Mixes each
//       as that batch of epoch EPOCH under SEED and writes OUT.pth = {"batches": [{"images",
//       "targets", "draws": [{"apply_u", "switch_u", "lam", "has_box", "box_size": [h, w],
//       "box_at": [y, x]}, ...]}, ...]} (sg/data/mixup.hpp).
//
// Exit codes: 0 written; 2 usage or input error (one line: "sg_mixup_dump: error: ...").
#include <exception>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <yaml-cpp/yaml.h>

#include "cli_numbers.hpp"
#include "pth/checkpoint.hpp"
#include "recipe/recipe.hpp"
#include "sg/checkpoint/tensor_convert.hpp"
#include "sg/data/mixup.hpp"
#include "train/collate_config.hpp"

namespace {

const pth::Value& entry(const pth::Value& dict, const char* key) {
  const pth::Value* v = dict.is_dict() ? dict.as_dict().find(key) : nullptr;
  if (v == nullptr) throw UsageError(std::string("IN.pth: no '") + key + "'");
  return *v;
}

torch::Tensor tensor_entry(const pth::Value& dict, const char* key) {
  const pth::Value& v = entry(dict, key);
  if (!v.is_tensor()) throw UsageError(std::string("IN.pth: '") + key + "' is not a tensor");
  return sg::to_torch(*v.as_tensor());
}

pth::Value pair(const std::array<int64_t, 2>& v) {
  return pth::Value::list({pth::Value::integer(v[0]), pth::Value::integer(v[1])});
}

pth::Value dump_draw(const sg::MixDraw& d) {
  pth::Value draw = pth::Value::dict();
  auto& dict = draw.as_dict();
  dict.set(pth::Value::string("apply_u"), pth::Value::floating(d.apply_u));
  dict.set(pth::Value::string("switch_u"), pth::Value::floating(d.switch_u));
  dict.set(pth::Value::string("lam"), pth::Value::floating(d.lam));
  dict.set(pth::Value::string("has_box"), pth::Value::boolean(d.has_box));
  dict.set(pth::Value::string("box_size"), pair(d.box_size));
  dict.set(pth::Value::string("box_at"), pair(d.box_at));
  return draw;
}

int run(const std::vector<std::string>& args) {
  if (args.size() != 5) throw UsageError("usage: sg_mixup_dump COLLATE_FN IN.pth SEED EPOCH OUT.pth");
  YAML::Node root;
  root["collate_fn"] = YAML::Load(args[0]);
  const auto options = sg::read_collate_fn(sg::Recipe(root), "collate_fn");
  if (!options) throw UsageError("COLLATE_FN: null");
  const uint64_t seed = uint64_t(parse_count(args[2], "SEED"));
  const int64_t epoch = parse_count(args[3], "EPOCH");
  const pth::Checkpoint in = pth::read_checkpoint(args[1]);
  pth::List results;
  for (const pth::Value& batch : entry(in.root, "batches").items()) {
    const sg::MixedBatch mixed = sg::mixup_batch(*options, tensor_entry(batch, "images"), tensor_entry(batch, "labels"),
                                                 seed, epoch, entry(batch, "index").as_int());
    pth::List draws;
    for (const sg::MixDraw& d : mixed.draws) draws.push_back(dump_draw(d));
    pth::Value result = pth::Value::dict();
    auto& r = result.as_dict();
    r.set(pth::Value::string("images"), sg::to_pth(mixed.images));
    r.set(pth::Value::string("targets"), sg::to_pth(mixed.targets));
    r.set(pth::Value::string("draws"), pth::Value::list(std::move(draws)));
    results.push_back(std::move(result));
  }
  pth::Value out = pth::Value::dict();
  out.as_dict().set(pth::Value::string("batches"), pth::Value::list(std::move(results)));
  pth::write_checkpoint(args[4], out);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(std::vector<std::string>(argv + 1, argv + argc));
  } catch (const std::exception& e) {
    return print_error("sg_mixup_dump", e);
  }
}
