#include "pth/atomic_file.hpp"
#include "pth/checkpoint.hpp"
#include "pth/error.hpp"
#include "pth/pickle_writer.hpp"
#include "pth/tensor_walk.hpp"
#include "pth/zip_writer.hpp"

namespace pth {
namespace {

// torch.save names the zip root after the file's stem: "dir/model.pth" -> "model".
std::string stem_of(const std::string& path) {
  std::string name = path.substr(path.find_last_of('/') + 1);
  const size_t dot = name.find_last_of('.');
  if (dot != std::string::npos && dot > 0) name.resize(dot);
  return name.empty() ? "archive" : name;
}

bool writable(const Tensor& t) { return t.storage && t.storage->data && t.storage->dtype == t.dtype; }

// Paths (a string for each tensor) are made only to name a tensor that cannot be written.
void check_writable_tensors(const Value& root) {
  bool all_writable = true;
  visit_values(root, [&](const Value& v) {
    if (v.is_tensor() && !writable(*v.as_tensor())) all_writable = false;
    return all_writable;
  });
  if (all_writable) return;
  for (const auto& [path, t] : collect_tensors(root)) {
    if (!t->storage || !t->storage->data) throw Error("tensor '" + path + "' has no data to write");
    if (t->storage->dtype != t->dtype) throw Error("tensor '" + path + "' has a dtype other than its storage's");
  }
}

// Writes the zip into `out`, whose target's stem names the zip root unless the options do.
void write_zip(AtomicFile& out, const Value& root, const WriteOptions& options) {
  check_writable_tensors(root);
  std::vector<const Storage*> storages;   // the key of storages[i] is "i"
  const std::string pickle = pickle_value(root, [&](const Storage& s) {   // once a storage
    storages.push_back(&s);
    return std::to_string(storages.size() - 1);
  });

  const std::string zip_root = options.root_name.empty() ? stem_of(out.target()) : options.root_name;
  ZipWriter zip(out, options.alignment);
  zip.add(zip_root + "/data.pkl", ByteView(pickle.data(), pickle.size()));
  zip.add(zip_root + "/byteorder", ByteView("little", 6));
  const std::string data_prefix = zip_root + "/data/";
  for (size_t i = 0; i < storages.size(); ++i) {
    const Storage& s = *storages[i];
    const ByteView data = s.data->bytes();
    const std::string key = std::to_string(i);
    if (data.size < s.nbytes())
      throw Error("storage '" + key + "' has " + std::to_string(data.size) + " bytes, needs " + std::to_string(s.nbytes()));
    zip.add(data_prefix + key, data.sub(0, s.nbytes()));
  }
  zip.add(zip_root + "/version", ByteView("3\n", 2));
  zip.finish();
  out.commit();
}

}  // namespace

void write_checkpoint(const std::string& path, const Value& root, const WriteOptions& options) {
  AtomicFile out(path, options.replace);
  write_zip(out, root, options);
}

void write_checkpoint(const Folder& folder, const std::string& name, const Value& root, const WriteOptions& options) {
  AtomicFile out(folder, name, options.replace);
  write_zip(out, root, options);
}

}  // namespace pth
