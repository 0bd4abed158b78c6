// dataset_params in its two forms.
//
// Built-in recipes: `dataset_params.dataset` (fashion_mnist, mnist, cifar10, cifar100, synthetic) with
// `root`, the IDX file names, `transforms: {crop_padding, horizontal_flip, mean, std}`.
//
// SuperGradients' recipes: each of train/val names its data by SG's dataloader name (top-level
// `train_dataloader: cifar10_train`) or SG's dataset class (`<split>_dataloader_params.dataset:
// Cifar10`), described by `dataset_params.<split>_dataset_params` (`root`, `transforms` list,
// ...). Known: CIFAR-10 and CIFAR-100 (python or binary batches under root) and ImageNet-style folders (SG's
// ImageNetDataset, torchvision's ImageFolder layout). `download` is accepted and nothing is
// ever downloaded: the data must be under root.
//
// Both forms: `<split>_dataloader_params` with batch_size, shuffle, drop_last, num_workers,
// prefetch_factor, and for training collate_fn (SG's CollateMixup: train/collate_config.cpp);
// pin_memory and persistent_workers are accepted and have no effect (CPU tensors; workers are
// threads); anything else there is an error.
#include "train/data_config.hpp"

#include <map>
#include <set>
#include <type_traits>

#include "sg/data/transform_list.hpp"
#include "train/collate_config.hpp"

namespace sg {
namespace {

std::string join_root(const std::string& root, const std::string& name) {
  return name.empty() || name.front() == '/' || root.empty() ? name : root + "/" + name;
}

std::optional<int64_t> optional_int(const Recipe& r, const std::string& key) {
  if (!r.has(key) || r.node(key).IsNull()) return std::nullopt;
  return r.get<int64_t>(key);
}

// "a, b, c": the names of a set, or the keys of a map.
template <typename Names>
std::string joined(const Names& names) {
  std::string out;
  for (const auto& entry : names) {
    if constexpr (std::is_same_v<Names, std::set<std::string>>) out += (out.empty() ? "" : ", ") + entry;
    else out += (out.empty() ? "" : ", ") + entry.first;
  }
  return out;
}

// Refuses keys of the mapping at `key` outside `known`; `unsupported` get their own message.
void check_keys(const Recipe& r, const std::string& key, const std::set<std::string>& known,
                const std::set<std::string>& unsupported = {}) {
  if (!r.has(key)) return;
  if (!r.node(key).IsMap()) throw RecipeError(key + ": expected a mapping");
  for (const auto& entry : r.node(key)) {
    const std::string name = entry.first.as<std::string>();
    if (unsupported.count(name) && !entry.second.IsNull())
      throw RecipeError(key + "." + name + ": not implemented here");
    if (!known.count(name) && !unsupported.count(name))
      throw RecipeError(key + "." + name + ": unknown key (known: " + joined(known) + ")");
  }
}

// `training`: the training loader, which may mix its batches (collate_fn: SG's CollateMixup);
// SG's validation loaders have no collate_fn, and one here is refused.
LoaderOptions read_loader(const Recipe& r, const std::string& prefix, const std::string& max_batches_key,
                          uint64_t seed, bool sg_form, bool training) {
  std::set<std::string> known = {"batch_size", "shuffle", "drop_last", "num_workers", "prefetch_factor",
                                 "pin_memory", "persistent_workers"};
  std::set<std::string> unsupported = {"sampler", "batch_sampler", "worker_init_fn", "timeout"};
  if (sg_form) known.insert("dataset");
  (training ? known : unsupported).insert("collate_fn");
  check_keys(r, prefix, known, unsupported);
  LoaderOptions o;
  o.batch_size = r.get<int64_t>(prefix + ".batch_size");
  if (o.batch_size <= 0) throw RecipeError(prefix + ".batch_size: must be positive");
  o.shuffle = r.get_or<bool>(prefix + ".shuffle", false);
  o.drop_last = r.get_or<bool>(prefix + ".drop_last", false);
  o.num_workers = r.get_or<int64_t>(prefix + ".num_workers", 0);
  if (o.num_workers < 0 || o.num_workers > 256) throw RecipeError(prefix + ".num_workers: must be in 0..256");
  o.prefetch = r.get_or<int64_t>(prefix + ".prefetch_factor", 2);
  if (o.prefetch < 1 || o.prefetch > 64) throw RecipeError(prefix + ".prefetch_factor: must be in 1..64");
  r.get_or<bool>(prefix + ".pin_memory", false);          // checked for its type only
  r.get_or<bool>(prefix + ".persistent_workers", false);
  o.max_batches = optional_int(r, max_batches_key).value_or(-1);
  o.seed = seed;
  if (training) {
    o.mixup = read_collate_fn(r, prefix + ".collate_fn");
    if (o.mixup && o.batch_size % 2 != 0)
      throw RecipeError(prefix + ".batch_size: " + std::to_string(o.batch_size) +
                        " is odd; SG's CollateMixup (collate_fn) needs an even batch size");
  }
  return o;
}

image::Pipeline builtin_split_transforms(const Recipe& r, bool training) {
  std::vector<float> mean, std;
  for (double m : r.get<std::vector<double>>("dataset_params.transforms.mean")) mean.push_back(float(m));
  for (double s : r.get<std::vector<double>>("dataset_params.transforms.std")) {
    if (s <= 0) throw RecipeError("dataset_params.transforms.std: every value must be positive");
    std.push_back(float(s));
  }
  if (mean.size() != std.size()) throw RecipeError("dataset_params.transforms: mean and std must have the same length");
  const int64_t padding = training ? r.get_or<int64_t>("dataset_params.transforms.crop_padding", 0) : 0;
  if (padding < 0 || padding > 1024) throw RecipeError("dataset_params.transforms.crop_padding: must be in 0..1024");
  const bool flip = training && r.get_or<bool>("dataset_params.transforms.horizontal_flip", false);
  return builtin_transforms(int(padding), flip, mean, std);
}

DataConfig read_builtin_form(const Recipe& r, uint64_t seed) {
  DataConfig d;
  const std::string dataset = r.get<std::string>("dataset_params.dataset");
  const std::string root = r.get_or<std::string>("dataset_params.root", "");
  d.train.dataset = d.val.dataset = dataset;
  d.train.root = d.val.root = root;
  d.train.train = true;
  d.val.train = false;
  if (dataset == "synthetic") {
    SyntheticConfig& s = d.synthetic;
    s.train_size = r.get<int64_t>("dataset_params.synthetic.train_size");
    s.val_size = r.get<int64_t>("dataset_params.synthetic.val_size");
    s.image_size = r.get<int64_t>("dataset_params.synthetic.image_size");
    s.channels = r.get<int64_t>("dataset_params.synthetic.channels");
    s.num_classes = r.get<int64_t>("dataset_params.synthetic.num_classes");
    s.seed = uint64_t(r.get_or<int64_t>("dataset_params.synthetic.seed", 0));
  } else if (dataset == "fashion_mnist" || dataset == "mnist") {
    if (root.empty()) throw RecipeError("dataset_params.root is not set");
    d.train.images = join_root(root, r.get<std::string>("dataset_params.train_images"));
    d.train.labels = join_root(root, r.get<std::string>("dataset_params.train_labels"));
    d.val.images = join_root(root, r.get<std::string>("dataset_params.val_images"));
    d.val.labels = join_root(root, r.get<std::string>("dataset_params.val_labels"));
  } else if (dataset == "cifar10" || dataset == "cifar100") {
    if (root.empty()) throw RecipeError("dataset_params.root is not set (the folder of the " + dataset + " batches)");
  } else {
    throw RecipeError("dataset_params.dataset: unknown dataset '" + dataset +
                      "' (known: fashion_mnist, mnist, cifar10, cifar100, synthetic)");
  }
  d.train.transforms = builtin_split_transforms(r, true);
  d.val.transforms = builtin_split_transforms(r, false);
  d.train.loader = read_loader(r, "dataset_params.train_dataloader_params", "training_hyperparams.max_train_batches",
                               seed, false, true);
  d.val.loader = read_loader(r, "dataset_params.val_dataloader_params", "training_hyperparams.max_valid_batches",
                             seed, false, false);
  return d;
}

// What an SG dataloader name or dataset class stands for.
struct SgData {
  std::string dataset;          // cifar10 | cifar100 | image_folder
  std::optional<bool> train;    // set by a dataloader name; a dataset class reads `train`
};

const std::map<std::string, SgData>& sg_dataloaders() {
  static const std::map<std::string, SgData> names = [] {
    std::map<std::string, SgData> m = {{"cifar10_train", {"cifar10", true}},
                                       {"cifar10_val", {"cifar10", false}},
                                       {"cifar100_train", {"cifar100", true}},
                                       {"cifar100_val", {"cifar100", false}},
                                       {"imagenet_train", {"image_folder", true}},
                                       {"imagenet_val", {"image_folder", false}}};
    for (const char* variant : {"efficientnet", "mobilenetv2", "mobilenetv3", "regnetY", "resnet50", "resnet50_kd",
                                "vit_base"}) {
      m[std::string("imagenet_") + variant + "_train"] = {"image_folder", true};
      m[std::string("imagenet_") + variant + "_val"] = {"image_folder", false};
    }
    return m;
  }();
  return names;
}

const std::map<std::string, SgData>& sg_dataset_classes() {
  static const std::map<std::string, SgData> names = {{"Cifar10", {"cifar10", std::nullopt}},
                                                      {"Cifar100", {"cifar100", std::nullopt}},
                                                      {"ImageNetDataset", {"image_folder", true}}};
  return names;
}

SplitConfig read_sg_split(const Recipe& r, const std::string& split, uint64_t seed) {
  const std::string params = "dataset_params." + split + "_dataset_params";
  const std::string loader = "dataset_params." + split + "_dataloader_params";
  SgData what;
  if (r.has(loader + ".dataset") && !r.node(loader + ".dataset").IsNull()) {
    const std::string name = r.get<std::string>(loader + ".dataset");
    if (r.has(split + "_dataloader") && !r.node(split + "_dataloader").IsNull())
      throw RecipeError(loader + ".dataset: given with " + split + "_dataloader (SG takes one or the other)");
    const auto it = sg_dataset_classes().find(name);
    if (it == sg_dataset_classes().end())
      throw RecipeError(loader + ".dataset: '" + name + "' is not a dataset class known here (known: " +
                        joined(sg_dataset_classes()) + ")");
    what = it->second;
  } else if (r.has(split + "_dataloader") && !r.node(split + "_dataloader").IsNull()) {
    const std::string name = r.get<std::string>(split + "_dataloader");
    const auto it = sg_dataloaders().find(name);
    if (it == sg_dataloaders().end())
      throw RecipeError(split + "_dataloader: '" + name + "' is not a dataloader known here (known: " +
                        joined(sg_dataloaders()) + ")");
    what = it->second;
  } else {
    throw RecipeError(split + "_dataloader: missing from the recipe (SG's dataloader name, e.g. " +
                      (split == "train" ? std::string("cifar10_train") : std::string("cifar10_val")) + ", or " +
                      loader + ".dataset)");
  }

  SplitConfig s;
  s.dataset = what.dataset;
  if (what.dataset == "cifar10" || what.dataset == "cifar100") {
    check_keys(r, params, {"root", "train", "transforms", "target_transform", "download"});
    const bool train_param = r.get_or<bool>(params + ".train", true);
    if (what.train && r.has(params + ".train") && train_param != *what.train)
      throw RecipeError(params + ".train: " + (train_param ? "True" : "False") + " with " + split +
                        "_dataloader, which reads the " + (*what.train ? "training" : "test") + " batches");
    s.train = what.train.value_or(train_param);
  } else {
    check_keys(r, params, {"root", "transforms", "target_transform"});
  }
  if (r.has(params + ".target_transform") && !r.node(params + ".target_transform").IsNull())
    throw RecipeError(params + ".target_transform: not implemented here (only null)");
  r.get_or<bool>(params + ".download", false);   // checked for its type only: nothing is downloaded
  s.root = r.get<std::string>(params + ".root");
  if (s.root.empty()) throw RecipeError(params + ".root: empty");
  s.transforms = read_transform_list(r, params + ".transforms");
  s.loader = read_loader(r, loader, split == "train" ? "training_hyperparams.max_train_batches"
                                                     : "training_hyperparams.max_valid_batches",
                         seed, true, split == "train");
  return s;
}

}  // namespace

DataConfig read_data_config(const Recipe& r, uint64_t seed) {
  if (r.has("dataset_params.dataset")) return read_builtin_form(r, seed);
  DataConfig d;
  d.train = read_sg_split(r, "train", seed);
  d.val = read_sg_split(r, "val", seed);
  return d;
}

}  // namespace sg
