#pragma once
#include <functional>
#include <string>

#include "pth/value.hpp"

namespace pth {

// Serialises a value tree as a protocol-2 pickle that torch.load reads, using only
// opcodes and globals that torch.load(weights_only=True) of recent PyTorch accepts:
// PROTO, STOP, MARK, NONE, NEWTRUE/NEWFALSE, BININT1/BININT2/BININT/LONG1, BINFLOAT,
// BINUNICODE, EMPTY_TUPLE/TUPLE1/2/3/TUPLE, EMPTY_LIST/APPENDS, EMPTY_DICT/SETITEMS,
// GLOBAL, REDUCE, BUILD, BINPERSID, BINPUT/LONG_BINPUT, BINGET/LONG_BINGET.
// Dicts with `ordered` become collections.OrderedDict (with BUILD {'_metadata': ...}
// when metadata is set); tensors become _rebuild_tensor_v2 (wrapped in
// _rebuild_parameter when is_parameter); bytes become _codecs.encode(str, 'latin1').
// A tensor object reachable twice is written once and memo-referenced after.
//
// `storage_key` is called for each storage the first time it is met (pointer identity)
// and returns the record name to reference in the persistent id.
std::string pickle_value(const Value& root, const std::function<std::string(const Storage&)>& storage_key);

}  // namespace pth
