#include "average.hpp"

#include <string_view>
#include <unordered_map>
#include <vector>

#include "data_error.hpp"
#include "pth/message.hpp"

namespace pth::adapt_detail {

Doc average_docs(const AdaptOptions& o) {
  if (o.average.size() < 2) throw AdaptError("", "--average needs at least two files");
  std::vector<Doc> docs;
  for (const std::string& path : o.average) {
    AdaptOptions sel = o;
    sel.weights_only = true;
    docs.push_back(select_input(load_any(path), sel));
  }
  const Doc& first = docs.front();
  std::vector<std::unordered_map<std::string_view, const Entry*>> maps;
  for (const Doc& d : docs) {
    std::unordered_map<std::string_view, const Entry*> m;
    m.reserve(d.net.entries.size());
    for (const Entry& e : d.net.entries) m.emplace(e.name, &e);
    maps.push_back(std::move(m));
  }
  for (size_t i = 1; i < docs.size(); ++i) {
    if (docs[i].net.entries.size() != first.net.entries.size() || [&] {
          for (const Entry& e : first.net.entries)
            if (!maps[i].count(e.name)) return true;
          return false;
        }()) {
      for (const Entry& e : first.net.entries)
        if (!maps[i].count(e.name))
          throw AdaptError(docs[i].path, what_of(docs[i].net) + "has no key " + pth::quoted(e.name) + " (" + first.path + " has)");
      for (const Entry& e : docs[i].net.entries)
        if (!maps[0].count(e.name))
          throw AdaptError(docs[i].path, what_of(docs[i].net) + "key " + pth::quoted(e.name) + " is not in " + first.path);
    }
  }
  Doc out;
  out.path = first.path;
  out.plain = false;
  out.root = Value::dict();
  out.net = first.net;
  out.source = first.source;
  std::vector<std::shared_ptr<const void>> keeps;
  for (Entry& e : out.net.entries) {
    if (!e.value.is_tensor()) continue;   // kept as in the first file
    const Tensor& t0 = *e.value.as_tensor();
    std::vector<std::shared_ptr<Tensor>> tensors;
    for (size_t i = 0; i < docs.size(); ++i) {
      const Value& v = maps[i].at(e.name)->value;
      if (!v.is_tensor())
        throw AdaptError(docs[i].path, what_of(docs[i].net) + pth::quoted(e.name) + " is a " +
                                           std::string(Value::kind_name(v.kind())) + ", " + first.path + " has a tensor");
      const Tensor& t = *v.as_tensor();
      if (t.dtype != t0.dtype)
        throw AdaptError(docs[i].path, what_of(docs[i].net) + pth::quoted(e.name) + " is " + std::string(dtype_name(t.dtype)) +
                                           ", " + first.path + " has " + std::string(dtype_name(t0.dtype)));
      if (t.shape != t0.shape)
        throw AdaptError(docs[i].path, what_of(docs[i].net) + pth::quoted(e.name) + " has shape " + shape_text(t.shape) + ", " +
                                           first.path + " has " + shape_text(t0.shape));
      tensors.push_back(v.as_tensor());
    }
    if (!dtype_is_floating(t0.dtype)) continue;   // integer entries (num_batches_tracked) as in the first
    try {
      e.value = Value::tensor(average_tensors(tensors));
    } catch (const std::exception& ex) {
      throw data_error(first.path, what_of(first.net) + pth::quoted(e.name) + ": ", ex);
    }
  }
  for (const Doc& d : docs) keeps.push_back(d.keep);
  out.keep = std::make_shared<std::vector<std::shared_ptr<const void>>>(std::move(keeps));
  return out;
}

}  // namespace pth::adapt_detail
