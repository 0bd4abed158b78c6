// torch before Catch2: glog (through torch) also defines CHECK.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "pth/checkpoint.hpp"
#include "sg/optim/model_averager.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;

namespace {

pth::Folder folder(const TempDir& dir) { return pth::Folder::open(dir.path().string()); }

std::set<std::string> files_in(const TempDir& dir) {
  const std::vector<std::string> names = names_in(dir.path());
  return {names.begin(), names.end()};
}

// A small state dict whose values depend on k: a float weight, a double buffer, an int64
// counter, like a BatchNorm layer's.
sg::NamedTensors snapshot(int k) {
  torch::manual_seed(100 + k);
  return {{"w", torch::randn({3, 4})},
          {"running_var", torch::rand({4}, torch::kDouble) + k},
          {"num_batches_tracked", torch::tensor(int64_t(10 * k + k % 3))}};
}

// The mean computed directly from the snapshots (float64), for comparison.
sg::NamedTensors direct_mean(const std::vector<int>& ks) {
  std::map<std::string, torch::Tensor> sum;
  for (int k : ks) {
    for (const auto& [n, t] : snapshot(k)) {
      auto d = t.to(torch::kDouble);
      sum[n] = sum.count(n) ? sum[n] + d : d;
    }
  }
  sg::NamedTensors out;
  for (const auto& [n, t] : snapshot(ks.front())) out.emplace_back(n, sum[n] / double(ks.size()));
  return out;
}

void check_average(const sg::ModelAverager& avg, const std::vector<int>& kept) {
  const sg::NamedTensors got = avg.average();
  const sg::NamedTensors want = direct_mean(kept);
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO(got[i].first);
    CHECK(got[i].first == want[i].first);
    CHECK(got[i].second.scalar_type() == snapshot(kept.front())[i].second.scalar_type());
    if (got[i].second.is_floating_point()) {
      CHECK((got[i].second.to(torch::kDouble) - want[i].second).abs().max().item<double>() < 1e-6);
    } else {
      CHECK(got[i].second.item<int64_t>() == int64_t(std::floor(want[i].second.item<double>())));
    }
  }
}

// Slot metrics as a printable string ("-" for an empty slot), for comparisons.
std::string metrics_of(const sg::ModelAverager& avg) {
  std::string out;
  for (const auto& m : avg.slot_metrics()) out += (m ? std::to_string(*m) : std::string("-")) + " ";
  return out;
}

bool metrics_are(const sg::ModelAverager& avg, const std::vector<double>& want) {
  std::string w;
  for (double m : want) w += std::to_string(m) + " ";
  INFO("slots: " << metrics_of(avg) << " want: " << w);
  return metrics_of(avg) == w;
}

}  // namespace

TEST_CASE("Averager fills its slots, then replaces the worst only when strictly better") {
  TempDir dir;
  sg::ModelAverager avg(folder(dir), 3, /*greater_is_better=*/true);
  CHECK(avg.size() == 0);
  CHECK(avg.average().empty());
  CHECK(avg.add(snapshot(1), 0.5));
  CHECK(avg.add(snapshot(2), 0.1));   // slots not full: any finite value is kept
  CHECK(avg.add(snapshot(3), 0.3));
  CHECK(avg.size() == 3);
  check_average(avg, {1, 2, 3});
  CHECK_FALSE(avg.add(snapshot(4), 0.1));   // equal to the worst: not strictly better
  CHECK_FALSE(avg.add(snapshot(5), 0.05));
  CHECK(avg.add(snapshot(6), 0.2));          // replaces 0.1 (snapshot 2)
  check_average(avg, {1, 3, 6});
  CHECK(metrics_are(avg, {0.5, 0.2, 0.3}));
  CHECK(avg.add(snapshot(7), 0.9));          // replaces 0.2 (slot 1)
  check_average(avg, {1, 3, 7});
  CHECK(metrics_are(avg, {0.5, 0.9, 0.3}));
}

TEST_CASE("Averager with lower-is-better keeps the smallest values; ties pick the first slot") {
  TempDir dir;
  sg::ModelAverager avg(folder(dir), 2, /*greater_is_better=*/false);
  CHECK(avg.add(snapshot(1), 2.0));
  CHECK(avg.add(snapshot(2), 2.0));
  CHECK_FALSE(avg.add(snapshot(3), 3.0));
  CHECK(avg.add(snapshot(4), 1.0));          // the worst is 2.0, first at slot 0
  CHECK(metrics_are(avg, {1.0, 2.0}));
  check_average(avg, {4, 2});
}

TEST_CASE("Averager ignores non-finite metrics") {
  TempDir dir;
  sg::ModelAverager avg(folder(dir), 3, true);
  CHECK_FALSE(avg.add(snapshot(1), std::numeric_limits<double>::quiet_NaN()));
  CHECK_FALSE(avg.add(snapshot(2), std::numeric_limits<double>::infinity()));
  CHECK_FALSE(avg.add(snapshot(3), -std::numeric_limits<double>::infinity()));
  CHECK(avg.size() == 0);
  CHECK(avg.add(snapshot(4), -1e30));
  CHECK(avg.size() == 1);
  check_average(avg, {4});
}

TEST_CASE("Averager keeps integer dtypes (floor of the mean) and refuses other layouts") {
  TempDir dir;
  sg::ModelAverager avg(folder(dir), 10, true);
  avg.add(snapshot(1), 1);   // num_batches_tracked 11
  avg.add(snapshot(2), 2);   // 22
  const auto a = avg.average();
  CHECK(a[2].second.scalar_type() == torch::kLong);
  CHECK(a[2].second.item<int64_t>() == 16);   // floor(16.5)
  CHECK(a[1].second.scalar_type() == torch::kDouble);
  CHECK(a[0].second.scalar_type() == torch::kFloat);
  sg::NamedTensors other = snapshot(3);
  other[0].second = torch::zeros({4, 3});
  CHECK_THROWS_AS(avg.add(other, 5), std::invalid_argument);
  other = snapshot(3);
  other.pop_back();
  CHECK_THROWS_AS(avg.add(other, 5), std::invalid_argument);
  CHECK(avg.size() == 2);
}

TEST_CASE("Averager state persists: a new averager given the saved record continues the same slots") {
  TempDir dir;
  pth::Value record;
  {
    sg::ModelAverager avg(folder(dir), 3, true);
    for (int k = 1; k <= 5; ++k) avg.add(snapshot(k), double(k % 4));   // metrics 1,2,3,0,1
    check_average(avg, {1, 2, 3});
    record = avg.record();
    avg.commit();
  }
  {
    sg::ModelAverager resumed(folder(dir), 3, true, &record);
    CHECK(resumed.size() == 3);
    CHECK(resumed.snapshot_reads() == 3);
    CHECK(metrics_are(resumed, {1.0, 2.0, 3.0}));
    check_average(resumed, {1, 2, 3});
    CHECK(resumed.add(snapshot(6), 2.5));   // replaces metric 1 (snapshot 1)
    check_average(resumed, {6, 2, 3});
    record = resumed.record();
    resumed.commit();
  }
  sg::ModelAverager again(folder(dir), 3, true, &record);
  check_average(again, {6, 2, 3});
  // Exactly the kept snapshots are on disk.
  CHECK(files_in(dir) == std::set<std::string>{"snapshot_1.pth", "snapshot_2.pth", "snapshot_3.pth"});
  // Another configuration cannot silently reuse the state.
  CHECK_THROWS_AS(sg::ModelAverager(folder(dir), 4, true, &record), std::runtime_error);
  CHECK_THROWS_AS(sg::ModelAverager(folder(dir), 3, false, &record), std::runtime_error);
}

TEST_CASE("Averager keeps what the committed record names until the next commit") {
  TempDir dir;
  pth::Value committed;
  {
    sg::ModelAverager avg(folder(dir), 2, true);
    avg.add(snapshot(1), 1);
    avg.add(snapshot(2), 2);
    committed = avg.record();
    avg.commit();
    // The next epoch replaces snapshot 1, then the process dies before its checkpoint.
    CHECK(avg.add(snapshot(3), 3));
    CHECK(files_in(dir) == std::set<std::string>{"snapshot_0.pth", "snapshot_1.pth", "snapshot_2.pth"});
  }
  // Resumed from the committed record: the replaced file is still there, the uncommitted
  // one is left for the redone epoch to overwrite.
  sg::ModelAverager resumed(folder(dir), 2, true, &committed);
  check_average(resumed, {1, 2});
  CHECK(resumed.add(snapshot(3), 3));
  check_average(resumed, {3, 2});
  resumed.commit();
  CHECK(files_in(dir) == std::set<std::string>{"snapshot_1.pth", "snapshot_2.pth"});
}

TEST_CASE("Averager removes older snapshot files its record does not name") {
  TempDir dir;
  pth::Value record;
  {
    sg::ModelAverager avg(folder(dir), 1, true);
    avg.add(snapshot(1), 1);
    avg.add(snapshot(2), 2);   // replaces snapshot_0, whose removal a crash prevented
    record = avg.record();
  }
  sg::ModelAverager avg(folder(dir), 1, true, &record);
  check_average(avg, {2});
  // Loading writes nothing; the next commit removes it.
  CHECK(files_in(dir) == std::set<std::string>{"snapshot_0.pth", "snapshot_1.pth"});
  avg.commit();
  CHECK(files_in(dir) == std::set<std::string>{"snapshot_1.pth"});
}

TEST_CASE("Averager refuses a record naming a missing snapshot") {
  TempDir dir;
  pth::Value record;
  {
    sg::ModelAverager avg(folder(dir), 2, true);
    avg.add(snapshot(1), 1);
    record = avg.record();
  }
  fs::remove(dir.path() / "snapshot_0.pth");
  CHECK_THROWS_WITH(sg::ModelAverager(folder(dir), 2, true, &record), Catch::Contains("snapshot_0.pth"));
}

TEST_CASE("Averager memory stays bounded: only the float64 sum is held, one file read per replacement") {
  TempDir dir;
  sg::ModelAverager avg(folder(dir), 3, true);
  uint64_t sum_bytes = 0;
  for (const auto& [n, t] : snapshot(0)) sum_bytes += uint64_t(t.numel()) * 8;
  for (int k = 1; k <= 12; ++k) {
    avg.add(snapshot(k), double(k));   // every one better: 3 fills then 9 replacements
    CHECK(avg.resident_bytes() == sum_bytes);
  }
  CHECK(avg.snapshot_reads() == 9);
  check_average(avg, {10, 11, 12});
  // The snapshot files hold the exact tensors.
  const pth::Checkpoint ck = pth::read_checkpoint((dir.path() / "snapshot_11.pth").string());
  CHECK(ck.root.as_dict().find("metric")->as_number() == 12.0);
}
