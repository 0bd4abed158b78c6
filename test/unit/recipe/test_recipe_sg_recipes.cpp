// SuperGradients' own recipe folder (SG 3.7.1, unchanged): the classification recipes compose
// with SG's values, SG's shortcuts act as in SG, and every other top-level recipe composes or
// stops with one line. Skipped when the folder is absent.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>

#include "recipe/recipe.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

std::string sg_recipes_dir() {
  if (const char* env = std::getenv("SG_SG_RECIPES_DIR"); env && *env) return env;
  return SG_SG_RECIPES_DIR;
}

// True, or false after a warning when the folder is absent.
bool have_sg_recipes() {
  if (fs::is_regular_file(fs::path(sg_recipes_dir()) / "variable_setup.yaml")) return true;
  WARN("SG's recipe folder " + sg_recipes_dir() + " is absent: skipped");
  return false;
}

sg::Recipe sg_recipe(const std::string& name, std::vector<std::string> overrides = {}) {
  return sg::compose_recipe({name, {sg_recipes_dir()}, std::move(overrides)});
}

struct Classification {
  const char* name;
  const char* architecture;
  int max_epochs;
  double initial_lr;
  int batch_size;
};

// Values as SG's files give them.
const Classification kClassification[] = {
    {"cifar10_resnet", "resnet18_cifar", 250, 0.1, 256},    {"imagenet_resnet50", "resnet50", 400, 0.1, 236},
    {"imagenet_mobilenetv2", "mobilenet_v2", 450, 0.032, 256}, {"imagenet_regnetY", "regnetY800", 450, 0.016, 256},
    {"imagenet_efficientnet", "efficientnet_b0", 450, 0.016, 64}, {"imagenet_repvgg", "repvgg_a0", 120, 0.1, 64},
    {"imagenet_vit_base", "vit_base", 10, 0.03, 64},         {"user_recipe_mnist_example", "mobilenet_v2", 3, 0.1, 256},
};

// The output of a command, or "" when it fails.
std::string command_output(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  std::string out;
  char buffer[4096];
  std::size_t n;
  while (pipe && (n = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0) out.append(buffer, n);
  return out;
}

}  // namespace

TEST_CASE("SG's classification recipes compose with SG's values") {
  if (!have_sg_recipes()) return;
  for (const Classification& c : kClassification) {
    INFO(c.name);
    const sg::Recipe r = sg_recipe(c.name);
    CHECK(r.get<std::string>("architecture") == c.architecture);
    CHECK(r.get<int>("training_hyperparams.max_epochs") == c.max_epochs);
    CHECK(r.get<double>("training_hyperparams.initial_lr") == Approx(c.initial_lr));
    CHECK(r.get<int>("dataset_params.train_dataloader_params.batch_size") == c.batch_size);
    CHECK(r.get<std::string>("checkpoint_params.strict_load") == "no_key_matching");
    CHECK(r.node("training_hyperparams.lr_updates").IsSequence());
    // SG's callback fills the unset shortcuts from their keys
    CHECK(r.get<int>("epochs") == c.max_epochs);
    CHECK(r.get<double>("lr") == Approx(c.initial_lr));
    CHECK(r.get<int>("batch_size") == c.batch_size);
    // Hydra's block: only the callbacks stay
    CHECK(r.has("hydra.callbacks.shortcuts_cb"));
    CHECK_FALSE(r.has("hydra.run"));
  }
  const sg::Recipe cifar = sg_recipe("cifar10_resnet");
  CHECK(cifar.get<std::vector<int64_t>>("training_hyperparams.lr_updates") == std::vector<int64_t>{100, 150, 200});
  CHECK(cifar.get<std::string>("training_hyperparams.lr_mode") == "StepLRScheduler");
  CHECK(cifar.get<int>("dataset_params.val_dataloader_params.num_workers") == 8);
  CHECK(sg_recipe("imagenet_resnet50").node("training_hyperparams.lr_updates").size() == 0);  // empty_list
  // an object target stays a mapping for the program to build
  CHECK(sg_recipe("imagenet_resnet50").get<std::string>("dataset_params.train_dataloader_params.collate_fn._target_") ==
        "super_gradients.training.datasets.mixup.CollateMixup");
  // `resume: ${resume}` follows the shortcut, which variable_setup (after _self_) leaves null
  CHECK(sg_recipe("imagenet_vit_base").node("training_hyperparams.resume").IsNull());
  CHECK(sg_recipe("imagenet_vit_base", {"resume=true"}).get<bool>("training_hyperparams.resume"));
}

TEST_CASE("SG's shortcuts set their keys as SG's RecipeShortcutsCallback does") {
  if (!have_sg_recipes()) return;
  const sg::Recipe r = sg_recipe("cifar10_resnet", {"epochs=2", "lr=0.05", "batch_size=64", "val_batch_size=128",
                                                    "ema=true", "num_workers=2"});
  CHECK(r.get<int>("training_hyperparams.max_epochs") == 2);
  CHECK(r.get<int>("epochs") == 2);
  CHECK(r.get<double>("training_hyperparams.initial_lr") == Approx(0.05));
  CHECK(r.get<int>("dataset_params.train_dataloader_params.batch_size") == 64);
  CHECK(r.get<int>("dataset_params.val_dataloader_params.batch_size") == 128);
  CHECK(r.get<bool>("training_hyperparams.ema"));
  CHECK(r.get<int>("dataset_params.train_dataloader_params.num_workers") == 2);
  CHECK(r.get<int>("dataset_params.val_dataloader_params.num_workers") == 2);
  // the long name still works, and the shortcut shows it
  const sg::Recipe l = sg_recipe("cifar10_resnet", {"training_hyperparams.max_epochs=3"});
  CHECK(l.get<int>("training_hyperparams.max_epochs") == 3);
  CHECK(l.get<int>("epochs") == 3);
  // typed like the key it stands for
  CHECK_THAT(error_message<sg::RecipeError>([] { sg_recipe("cifar10_resnet", {"epochs=many"}); }),
             Catch::Contains("training_hyperparams.max_epochs: expected an integer"));
}

TEST_CASE("a stored SG recipe keeps SG's shortcuts for the overrides of a resume") {
  if (!have_sg_recipes()) return;
  TempDir run;
  const sg::StoredRecipe stored = sg::stored_recipe(sg_recipe("cifar10_resnet", {"epochs=2"}));
  run.write(".hydra/config.yaml", stored.config);
  run.write(".hydra/overrides.yaml", stored.overrides);
  const sg::Recipe back = sg::load_stored_recipe(run.path().string());
  CHECK(back.get<int>("training_hyperparams.max_epochs") == 2);
  CHECK(back.get<std::vector<int64_t>>("training_hyperparams.lr_updates") == std::vector<int64_t>{100, 150, 200});
  const sg::Recipe more = sg::load_stored_recipe(run.path().string(), {"epochs=5"});
  CHECK(more.get<int>("training_hyperparams.max_epochs") == 5);
  CHECK(more.get<int>("epochs") == 5);
  CHECK(sg::load_stored_recipe(run.path().string(), {"training_hyperparams.max_epochs=7"})
            .get<int>("training_hyperparams.max_epochs") == 7);
}

TEST_CASE("numpy.arange in SG's mobilenet_v2 recipe gives numpy's values") {
  if (!have_sg_recipes() || !python3_or_skip()) return;
  const YAML::Node ours = sg_recipe("imagenet_mobilenetv2").node("training_hyperparams.lr_updates");
  const std::string numpy = command_output(
      "/usr/bin/python3 -c 'import numpy; print(\"\\n\".join(repr(float(x)) for x in numpy.arange(start=2.4, stop=450, "
      "step=2.4)))'");
  REQUIRE_FALSE(numpy.empty());
  std::vector<double> expected;
  for (std::size_t at = 0, end; (end = numpy.find('\n', at)) != std::string::npos; at = end + 1)
    expected.push_back(std::strtod(numpy.c_str() + at, nullptr));
  REQUIRE(ours.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    INFO(i);
    CHECK(ours[i].as<double>() == expected[i]);  // bit for bit, not approximately
  }
}

TEST_CASE("every other recipe of SG's folder composes or stops with one line") {
  if (!have_sg_recipes()) return;
  // What composition gives today: "" composes, else a part of the one-line message.
  const char* const kPostPrediction = "post_prediction_callback: _target_ 'super_gradients.training.";
  const std::map<std::string, std::string> expected = {
      {"cityscapes_al_ddrnet", ""},
      {"cityscapes_ddrnet", ""},
      {"cityscapes_kd_base", "training_hyperparams.loss: _target_ 'super_gradients.training.losses.seg_kd_loss.SegKDLoss'"},
      {"cityscapes_pplite_seg50", ""},
      {"cityscapes_pplite_seg75", ""},
      {"cityscapes_regseg48", ""},
      {"cityscapes_segformer", "experiment_name: interpolation '${architecture}' refers to unknown key 'architecture'"},
      {"cityscapes_segformer_b0", ""},
      {"cityscapes_segformer_b1", ""},
      {"cityscapes_segformer_b2", ""},
      {"cityscapes_segformer_b3", ""},
      {"cityscapes_segformer_b4", ""},
      {"cityscapes_segformer_b5", ""},
      {"cityscapes_stdc_base", ""},
      {"cityscapes_stdc_seg50", ""},
      {"cityscapes_stdc_seg75", ""},
      {"coco2017_pose_dekr_rescoring", kPostPrediction},
      {"coco2017_pose_dekr_w32_no_dc", kPostPrediction},
      {"coco2017_ppyoloe_l", kPostPrediction},
      {"coco2017_ppyoloe_m", kPostPrediction},
      {"coco2017_ppyoloe_s", kPostPrediction},
      {"coco2017_ppyoloe_x", kPostPrediction},
      {"coco2017_ssd_lite_mobilenet_v2", kPostPrediction},
      {"coco2017_yolo_nas_pose_l", kPostPrediction},
      {"coco2017_yolo_nas_pose_m", kPostPrediction},
      {"coco2017_yolo_nas_pose_n", kPostPrediction},
      {"coco2017_yolo_nas_pose_s", kPostPrediction},
      {"coco2017_yolo_nas_s", kPostPrediction},
      {"coco2017_yolox", kPostPrediction},
      {"coco_segmentation_shelfnet_lw", "_target_ 'super_gradients.training.utils.segmentation_utils.coco_sub_classes"},
      {"imagenet_mobilenetv3_base", ""},
      {"imagenet_mobilenetv3_large", ""},
      {"imagenet_mobilenetv3_small", ""},
      {"imagenet_resnet50_kd", "_target_ 'super_gradients.training.losses.label_smoothing_cross_entropy_loss."},
      {"imagenet_vit_large", ""},
      {"roboflow_ppyoloe", kPostPrediction},
      {"roboflow_yolo_nas_m", kPostPrediction},
      {"roboflow_yolo_nas_s", kPostPrediction},
      {"roboflow_yolo_nas_s_qat", kPostPrediction},
      {"roboflow_yolox", kPostPrediction},
      {"script_generate_rescoring_data_dekr_coco2017", "post_prediction_callback: _target_"},
      {"supervisely_unet", "dataset_params.train_dataloader_params.num_workers: missing from the recipe"},
      {"user_recipe_mnist_as_external_dataset_example", ""},
      {"variable_setup", "training_hyperparams.initial_lr: missing from the recipe"},
  };
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(sg_recipes_dir()))
    if (entry.path().extension() == ".yaml") names.push_back(entry.path().stem().string());
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    if (std::any_of(std::begin(kClassification), std::end(kClassification),
                    [&](const Classification& c) { return name == c.name; }))
      continue;
    INFO(name);
    const std::string message = error_message<sg::RecipeError>([&] { sg_recipe(name); });
    const auto found = expected.find(name);
    REQUIRE(found != expected.end());  // a recipe new to the folder: add its outcome above
    if (found->second.empty()) {
      CHECK(message == "<no error>");
    } else {
      CHECK_THAT(message, Catch::Contains(found->second));
      CHECK(message.find('\n') == std::string::npos);
    }
  }
}
