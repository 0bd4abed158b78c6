#pragma once
// The safe pickle reader: the opcodes, the allow-list and the budgets it keeps are
// specified in lib/pth/FORMAT.md.
#include <cstdint>
#include <string>

#include "pth/bytes.hpp"
#include "pth/value.hpp"

namespace pth {

// Bounds on what a pickle may build before it is refused as hostile. Besides a few fixed
// limits, reading a pickle of N bytes may cost at most
//   memory:  memory_per_byte * N + memory_floor bytes held by the VM (stack, memo, every
//            value built, dict indexes), counted as they are allocated;
//   nodes:   nodes_per_byte * N + nodes_floor nodes in a tree walk of the result (a shared
//            object counts each time it is met: what describing or rendering it visits);
//   probes:  probes_per_byte * N + probes_floor hash-table slots looked at to find dict
//            keys (a handful per key, unless the keys were chosen to collide).
// Without shared objects every node costs at least one opcode byte, so a tree walk
// within nodes_per_byte = 1 is linear in the pickle.
struct PickleLimits {
  uint64_t max_pickle_bytes = 1ull << 30;   // data.pkl itself
  uint32_t max_depth = 500;                 // container nesting (and MARK nesting)
  uint64_t max_string_bytes = 256ull << 20; // one str/bytes
  uint64_t memory_per_byte = 48;
  uint64_t memory_floor = 64ull << 20;
  uint64_t nodes_per_byte = 1;
  uint64_t nodes_floor = 1ull << 20;
  uint64_t probes_per_byte = 16;
  uint64_t probes_floor = 1ull << 20;
  // A deflated data.pkl may inflate at most this many times its compressed size (plus
  // 1 MiB): torch.save stores it uncompressed, and real pickles deflate about 4:1.
  uint64_t max_inflation = 50;
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
  // Python 2 str (STRING, BINSTRING, SHORT_BINSTRING): UTF-8 text, checked (false), or
  // latin-1, each byte one character, as pickle.load(encoding='latin1') reads it (true).
  virtual bool py2_strings_are_latin1() const { return false; }
};

// Runs the pickle program in `data` (protocols 0-5 opcodes that describe data; no
// INST/OBJ/NEWOBJ on unknown classes, no EXT codes) and returns the object STOP leaves.
// Containers are shared objects as in Python (memo gets return the same object);
// a structure that contains itself is refused.
// `consumed` (optional) receives the number of bytes up to and including STOP, for
// files that hold several pickles back to back (the legacy format).
Value unpickle(ByteView data, PickleHooks& hooks, const PickleLimits& limits = {}, size_t* consumed = nullptr);

}  // namespace pth
