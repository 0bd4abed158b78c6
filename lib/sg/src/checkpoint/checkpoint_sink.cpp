#include "sg/checkpoint/checkpoint_sink.hpp"

#include "pth/checkpoint.hpp"

namespace sg {
namespace {

class LocalCheckpointSink final : public CheckpointSink {
 public:
  void write(const pth::Folder& folder, const std::string& name, const pth::Value& checkpoint) override {
    pth::write_checkpoint(folder, name, checkpoint);
  }
  void remove(const pth::Folder& folder, const std::string& name) override { folder.remove(name); }
};

}  // namespace

CheckpointSink& local_checkpoint_sink() {
  static LocalCheckpointSink sink;
  return sink;
}

}  // namespace sg
