// SG's CollateMixup in the loader: its draws are a pure function of (seed, epoch, batch
// index), so 1 and 3 workers give identical mixed batches and a resumed epoch its batches.
// The loss takes its soft targets as SG's CrossEntropyLoss does. That the mixing equals SG's
// is test/python/test_sg_mixup.py's job.
#include <torch/torch.h>  // before Catch: glog (via torch) defines CHECK too, Catch's must win

#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "sg/data/data.hpp"
#include "sg/data/mixup.hpp"
#include "sg/data/transform_list.hpp"
#include "train/loss.hpp"

namespace {

// imagenet_resnet50's collate_fn, for 4 classes.
sg::MixupOptions recipe_mixup() {
  sg::MixupOptions m;
  m.mixup_alpha = 0.2;
  m.cutmix_alpha = 1.0;
  m.label_smoothing = 0.1;
  m.num_classes = 4;
  return m;
}

std::vector<sg::Batch> epoch_of(int64_t workers, int64_t epoch, int64_t first = 0) {
  static const auto source = sg::memory_source(sg::make_synthetic(96, 3, 10, 10, 4, 3), "test set");
  sg::LoaderOptions o;
  o.batch_size = 8;
  o.shuffle = true;
  o.seed = 11;
  o.num_workers = workers;
  o.mixup = recipe_mixup();
  sg::DataLoader loader(*source, sg::builtin_transforms(2, true, {0.5f}, {0.25f}), o);
  loader.start_epoch(epoch, first);
  std::vector<sg::Batch> out;
  sg::Batch b;
  while (loader.next(b)) out.push_back(b);
  return out;
}

bool same_draws(const sg::MixedBatch& a, const sg::MixedBatch& b) {
  if (a.draws.size() != b.draws.size()) return false;
  for (size_t i = 0; i < a.draws.size(); ++i) {
    const sg::MixDraw &x = a.draws[i], &y = b.draws[i];
    if (x.apply_u != y.apply_u || x.switch_u != y.switch_u || x.lam != y.lam || x.has_box != y.has_box ||
        x.box_size != y.box_size || x.box_at != y.box_at)
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("mixed batches are the same with 1 and 3 workers, and on resume", "[data][mixup][workers]") {
  const auto one = epoch_of(1, 2);
  REQUIRE(one.size() == 12);
  int64_t mixed = 0;
  for (const sg::Batch& b : one) {
    REQUIRE(b.targets.defined());
    CHECK(b.targets.sizes() == torch::IntArrayRef({8, 4}));
    CHECK(torch::allclose(b.targets.sum(1), torch::ones({8}), 1e-5, 1e-6));
    const torch::Tensor unmixed = torch::full({8, 4}, 0.025).scatter_(1, b.labels.view({-1, 1}), 0.925);
    mixed += !torch::allclose(b.targets, unmixed);
  }
  CHECK(mixed >= 6);   // nearly every batch of this recipe is mixed
  for (int64_t workers : {0, 3}) {
    const auto got = epoch_of(workers, 2);
    REQUIRE(got.size() == one.size());
    for (size_t i = 0; i < got.size(); ++i) {
      CHECK(torch::equal(got[i].images, one[i].images));
      CHECK(torch::equal(got[i].targets, one[i].targets));
      CHECK(torch::equal(got[i].labels, one[i].labels));
    }
  }
  const auto resumed = epoch_of(3, 2, 5);
  REQUIRE(resumed.size() == 7);
  for (size_t i = 0; i < resumed.size(); ++i) {
    CHECK(resumed[i].index == one[i + 5].index);
    CHECK(torch::equal(resumed[i].images, one[i + 5].images));
    CHECK(torch::equal(resumed[i].targets, one[i + 5].targets));
  }
  const auto other_epoch = epoch_of(1, 3);
  CHECK_FALSE(torch::equal(other_epoch[0].targets, one[0].targets));
}

TEST_CASE("the mix drawn depends only on (seed, epoch, batch)", "[data][mixup]") {
  torch::manual_seed(0);
  const torch::Tensor images = torch::randn({8, 3, 9, 9});
  const torch::Tensor labels = torch::randint(0, 4, {8}, torch::kInt64);
  for (auto mode : {sg::MixupOptions::Mode::batch, sg::MixupOptions::Mode::elem}) {
    sg::MixupOptions m = recipe_mixup();
    m.mode = mode;
    const sg::MixedBatch a = sg::mixup_batch(m, images, labels, 5, 1, 2);
    CHECK(a.draws.size() == (mode == sg::MixupOptions::Mode::batch ? 1u : 8u));
    torch::randn({100});   // the global generator moving changes nothing
    const sg::MixedBatch again = sg::mixup_batch(m, images, labels, 5, 1, 2);
    CHECK(same_draws(a, again));
    CHECK(torch::equal(a.images, again.images));
    CHECK(torch::equal(a.targets, again.targets));
    // Other pixels and labels, the same key: the same draws.
    CHECK(same_draws(a, sg::mixup_batch(m, torch::randn({8, 3, 9, 9}), labels.flip(0), 5, 1, 2)));
    CHECK_FALSE(same_draws(a, sg::mixup_batch(m, images, labels, 6, 1, 2)));
    CHECK_FALSE(same_draws(a, sg::mixup_batch(m, images, labels, 5, 0, 2)));
    CHECK_FALSE(same_draws(a, sg::mixup_batch(m, images, labels, 5, 1, 3)));
  }
}

TEST_CASE("a loader without collate_fn leaves targets undefined, and odd batches are refused", "[data][mixup]") {
  const auto source = sg::memory_source(sg::make_synthetic(11, 1, 4, 4, 3, 1), "test set");
  sg::LoaderOptions o;
  o.batch_size = 4;
  sg::DataLoader plain(*source, sg::builtin_transforms(0, false, {0.0f}, {1.0f}), o);
  plain.start_epoch(0);
  sg::Batch b;
  REQUIRE(plain.next(b));
  CHECK_FALSE(b.targets.defined());
  o.mixup = recipe_mixup();
  sg::DataLoader mixing(*source, sg::builtin_transforms(0, false, {0.0f}, {1.0f}), o);
  mixing.start_epoch(0);
  REQUIRE(mixing.next(b));
  REQUIRE(mixing.next(b));
  CHECK_THROWS_WITH(mixing.next(b), Catch::Contains("batch 2 has 3 samples") && Catch::Contains("even batch size"));
}

TEST_CASE("the loss of soft targets is SG's sum of target times log-softmax, unsmoothed", "[train][mixup]") {
  namespace F = torch::nn::functional;
  torch::manual_seed(1);
  const torch::Tensor logits = torch::randn({8, 4}, torch::kFloat64);
  const torch::Tensor labels = torch::randint(0, 4, {8}, torch::kInt64);
  const sg::MixedBatch mixed =
      sg::mixup_batch(recipe_mixup(), torch::randn({8, 3, 6, 6}), labels, 3, 0, 0);
  const torch::Tensor targets = mixed.targets.to(torch::kFloat64);
  const auto smoothing = F::CrossEntropyFuncOptions().label_smoothing(0.1);
  // torch's probability-target cross entropy is the same sum; SG applies smooth_eps only with a smooth_dist.
  const torch::Tensor want = F::cross_entropy(logits, targets);
  CHECK(torch::allclose(sg::training_loss(logits, labels, targets, smoothing), want, 1e-12, 1e-12));
  CHECK_FALSE(torch::allclose(F::cross_entropy(logits, targets, smoothing), want, 1e-6, 1e-6));
  CHECK(torch::allclose(sg::training_loss(logits, labels, torch::Tensor(), smoothing),
                        F::cross_entropy(logits, labels, smoothing), 1e-12, 1e-12));
}
