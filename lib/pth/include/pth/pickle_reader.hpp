#pragma once
#include <cstdint>
#include <string>

#include "pth/bytes.hpp"
#include "pth/value.hpp"

namespace pth {

// Bounds on what a pickle may build before it is refused as hostile.
struct PickleLimits {
  uint64_t max_pickle_bytes = 1ull << 30;   // data.pkl itself
  uint32_t max_depth = 500;                 // container nesting (and MARK nesting)
  uint64_t max_string_bytes = 256ull << 20; // one str/bytes
  uint64_t max_container_items = 50'000'000;
  uint64_t max_memo_entries = 50'000'000;
  uint64_t max_total_nodes = 100'000'000;   // nodes reachable when expanding shared objects
};

// What the pickle VM asks of the world: the only place globals become meaning.
// Each call throws pth::UnsafeError / pth::FormatError to refuse.
class PickleHooks {
 public:
  virtual ~PickleHooks() = default;
  // GLOBAL / STACK_GLOBAL: return a Value (usually Value::global) or refuse by name.
  virtual Value find_global(const std::string& module, const std::string& name) = 0;
  // REDUCE: callable is what find_global returned; args is a Tuple.
  virtual Value reduce(const Value& callable, const Value& args) = 0;
  // BUILD: set state on obj (e.g. OrderedDict _metadata).
  virtual void build(Value& obj, const Value& state) = 0;
  // BINPERSID / PERSID: turn a persistent id into a value (a storage).
  virtual Value persistent_load(const Value& pid) = 0;
};

// Runs the pickle program in `data` (protocols 0-5 opcodes that describe data; no
// INST/OBJ/NEWOBJ on unknown classes, no EXT codes) and returns the object STOP leaves.
// Containers are shared objects as in Python (memo gets return the same object);
// a structure that contains itself is refused.
// `consumed` (optional) receives the number of bytes up to and including STOP, for
// files that hold several pickles back to back (the legacy format).
Value unpickle(ByteView data, PickleHooks& hooks, const PickleLimits& limits = {}, size_t* consumed = nullptr);

}  // namespace pth
