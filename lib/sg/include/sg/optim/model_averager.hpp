#pragma once
// Averaging of the best snapshots, as SuperGradients' ModelWeightAveraging
// (super_gradients/training/utils/weight_averaging_utils.py, `average_best_models`):
//   - `capacity` slots (SG: 10), empty at first. For a new (snapshot, metric): the "worst"
//     slot is the first empty slot, else the first slot holding the worst metric (SG's
//     np.argmin / np.argmax over an array initialised to -inf / +inf). The snapshot takes
//     that slot only if its metric is strictly better (> when greater_is_better, else <).
//     So while fewer than `capacity` are kept every finite value is added.
//   - Non-finite metrics (NaN, +-inf) are ignored (SG would keep an inf).
//   - average() = element-wise mean of the kept snapshots, accumulated in float64. Each
//     entry comes back in its own dtype: floating entries rounded to nearest; integer
//     (and bool) entries such as num_batches_tracked take floor(mean) (SG turns them into
//     floats; we keep the dtype).
//
// Memory is bounded: only a float64 running sum is held (2x a float32 model), never the
// kept snapshots. The snapshots live on disk in <run_dir>/averaging/ in our own torch.save
// zip format (pth::write_checkpoint, atomic, never through a link):
//   snapshot_<serial>.pth  {"metric": float, "state_dict": OrderedDict name -> tensor}
// Which snapshots are kept is not a file of its own: record() is saved inside the run's
// checkpoint (sg_cpp_state.averaging), so that ckpt_latest.pth commits the slots together
// with the epoch, and a resume continues from the slots of the checkpoint it reads:
//   {"format": "sg-averaging", "version": 1, "capacity": int, "greater_is_better": bool,
//    "next_serial": int, "slots": [None | {"metric": float, "file": str}] * capacity}
// add() writes the new snapshot under a fresh serial and updates the sum (subtracting the
// replaced snapshot, streamed back from disk entry by entry); the replaced file stays until
// commit(), called once the checkpoint holding the new record is written. A crash before
// that commit leaves every file the previous record names; files it does not name are
// either older (removed at the first commit after the state is loaded) or numbered from
// its next_serial on (overwritten when the resumed run gets there again).
// The files are kept at the end of training (a finished run can be extended).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "pth/folder.hpp"
#include "pth/value.hpp"
#include "sg/checkpoint/checkpoint_sink.hpp"
#include "sg/checkpoint/tensor_convert.hpp"

namespace sg {

// SG's average_best_models keeps this many.
constexpr size_t kAveragedModels = 10;

class ModelAverager {
 public:
  // `folder` is <run_dir>/averaging. `record` (may be null: nothing kept yet) is the
  // record() saved in the checkpoint the run continues from: the kept snapshots are read
  // back one at a time to rebuild the sum. Throws std::runtime_error when the record was
  // made with another capacity or greater_is_better, or when a snapshot it names is
  // missing or unreadable.
  ModelAverager(pth::Folder folder, size_t capacity, bool greater_is_better, const pth::Value* record = nullptr);

  // Offers a snapshot (tensors on any device; copied to disk, not kept in memory). Returns
  // true if it was kept. Throws std::invalid_argument when its keys/shapes/dtypes differ
  // from the snapshots already kept, RunWriteError when its file cannot be written.
  bool add(const NamedTensors& snapshot, double metric);
  // Snapshot files are written and removed through `sink` (the run's output) instead of
  // straight on the local disk.
  void write_through(CheckpointSink& sink) { sink_ = &sink; }
  // The kept slots, to save with the checkpoint that commits them.
  pth::Value record() const;
  // That checkpoint is written: the snapshot files replaced since the last commit go.
  void commit();

  // The mean of the kept snapshots (new CPU tensors, state-dict order of the first kept
  // snapshot); empty when none is kept.
  NamedTensors average() const;

  size_t size() const;
  size_t capacity() const { return slots_.size(); }
  bool greater_is_better() const { return greater_is_better_; }
  const pth::Folder& folder() const { return folder_; }
  // Per slot: the kept snapshot's metric, or nullopt for an empty slot.
  std::vector<std::optional<double>> slot_metrics() const;

  // For tests of the memory bound: bytes of tensors this object holds (the float64 sum
  // only), and how many snapshot files it has read back from disk.
  uint64_t resident_bytes() const;
  int64_t snapshot_reads() const { return snapshot_reads_; }

 private:
  struct Slot {
    bool used = false;
    double metric = 0;
    std::string file;   // name inside folder_
  };
  struct Entry {
    std::string name;
    torch::ScalarType dtype;
    std::vector<int64_t> shape;
  };

  void load_record(const pth::Value& record);
  void find_unnamed_older_snapshots();
  void set_layout(const NamedTensors& snapshot);
  std::vector<std::string> layout_problems(const NamedTensors& snapshot) const;
  // Streams a snapshot file into the sum with weight +1 or -1.
  void accumulate_file(const std::string& file, double sign);
  void rebuild_sum();

  pth::Folder folder_;
  CheckpointSink* sink_ = &local_checkpoint_sink();
  bool greater_is_better_;
  std::vector<Slot> slots_;
  int64_t next_serial_ = 0;
  std::vector<std::string> replaced_;   // files to remove at the next commit()
  std::vector<Entry> layout_;
  std::vector<torch::Tensor> sum_;   // float64, CPU, one per layout_ entry
  int64_t snapshot_reads_ = 0;
};

}  // namespace sg
