// sg::SaveQueue: saves written in the background hold the state of the moment write()
// returned, in the order given, once under several names; a failed file skips the rest of
// its save and is reported by the next call.
// torch before Catch2: glog (through torch) also defines CHECK.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "pth/checkpoint.hpp"
#include "recipe/run_errors.hpp"
#include "sg/checkpoint/save_queue.hpp"
#include "sg/checkpoint/tensor_convert.hpp"
#include "temp_dir.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::Contains;

namespace {

pth::Value state_of(const sg::NamedTensors& tensors, int64_t epoch) {
  pth::Value root = pth::Value::dict();
  root.as_dict().set("net", sg::to_pth_state_dict(tensors));
  root.as_dict().set("epoch", pth::Value::integer(epoch));
  return root;
}

}  // namespace

TEST_CASE("a background save holds the weights of the moment write() returned") {
  TempDir dir;
  const pth::Folder folder = pth::Folder::open(dir.path().string());
  torch::manual_seed(0);
  // 64 MB: the writer takes far longer to write it than the training thread to change it.
  sg::NamedTensors weights = {{"w", torch::randn({16, 1024, 1024})}, {"b", torch::randn({7})}};
  {
    sg::SaveQueue sync(/*background=*/false);
    sync.begin();
    sync.write(folder, {"sync.pth"}, state_of(weights, 1));
  }
  sg::SaveQueue queue(/*background=*/true);
  queue.begin();
  queue.write(folder, {"async.pth"}, state_of(weights, 1));
  torch::NoGradGuard no_grad;
  for (auto& [name, t] : weights) t.add_(1);   // the next step, at once
  queue.flush();
  CHECK(file_contents(dir.path() / "async.pth") == file_contents(dir.path() / "sync.pth"));
  const sg::SaveQueue::Stats stats = queue.take_stats();
  CHECK(stats.saves == 1);
  CHECK(stats.staged_bytes >= 64u << 20);
}

TEST_CASE("a save's files are written in order, once under several names, removals after them") {
  TempDir dir;
  const pth::Folder folder = pth::Folder::open(dir.path().string());
  std::ofstream(dir.path() / "ckpt_epoch_1.pth") << "old";
  const sg::NamedTensors weights = {{"w", torch::arange(6, torch::kFloat32)}};
  for (const bool background : {false, true}) {
    sg::SaveQueue queue(background);
    queue.begin();
    queue.write(folder, {"ckpt_best.pth", "ckpt_epoch_2.pth", "ckpt_latest.pth"}, state_of(weights, 2));
    queue.remove(folder, "ckpt_epoch_1.pth");
    queue.flush();
    CHECK(fs::equivalent(dir.path() / "ckpt_best.pth", dir.path() / "ckpt_latest.pth"));
    CHECK(fs::equivalent(dir.path() / "ckpt_best.pth", dir.path() / "ckpt_epoch_2.pth"));
    CHECK_FALSE(fs::exists(dir.path() / "ckpt_epoch_1.pth"));
    const pth::Checkpoint read = pth::read_checkpoint((dir.path() / "ckpt_latest.pth").string());
    CHECK(read.root_name == "archive");
    CHECK(read.root.as_dict().find("epoch")->as_int() == 2);
    CHECK(pth::verify_checkpoint(read).empty());
  }
}

TEST_CASE("a file that cannot be written skips the rest of its save and is reported by the next call") {
  TempDir dir;
  const pth::Folder folder = pth::Folder::open(dir.path().string());
  const sg::NamedTensors weights = {{"w", torch::ones({4})}};
  fs::create_directory(dir.path() / "ckpt_best.pth");   // a folder where the file should go: rename fails
  std::ofstream(dir.path() / "ckpt_latest.pth") << "previous";
  for (const bool background : {false, true}) {
    sg::SaveQueue queue(background);
    queue.begin();
    auto save = [&] {
      queue.write(folder, {"ckpt_best.pth"}, state_of(weights, 3));
      queue.write(folder, {"ckpt_latest.pth"}, state_of(weights, 3));   // the commit record, skipped
    };
    if (background) {
      save();   // returns: the failure comes later
      CHECK_THROWS_AS(queue.begin(), sg::RunWriteError);
    } else {
      CHECK_THROWS_AS(save(), sg::RunWriteError);
    }
    CHECK(file_contents(dir.path() / "ckpt_latest.pth") == "previous");
    queue.begin();   // reported once; the next save goes ahead
    queue.write(folder, {"other.pth"}, state_of(weights, 4));
    queue.flush();
    CHECK(fs::is_regular_file(dir.path() / "other.pth"));
    fs::remove(dir.path() / "other.pth");
  }
  sg::SaveQueue queue(/*background=*/true);
  queue.begin();
  queue.write(folder, {"ckpt_best.pth"}, state_of(weights, 5));
  try {
    queue.flush();
    FAIL("no error");
  } catch (const sg::RunWriteError& e) {
    CHECK_THAT(std::string(e.what()), Contains("cannot write checkpoint") && Contains("ckpt_best.pth"));
  }
  queue.flush();   // nothing left to report
}
