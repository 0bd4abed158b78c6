#pragma once
// Pickles of plain data and NumPy arrays, read as Python's pickle.load(f, encoding='latin1')
// reads them: CIFAR's python batches (Python 2 pickles of dicts that hold uint8 arrays),
// and the same written by Python 3 with protocols 2 to 5.
#include <string>

#include "pth/pickle_reader.hpp"

namespace pth {

// The allow-list (numpy.core or NumPy 2's numpy._core):
//   numpy.dtype(descr, align, copy), BUILD (3, byteorder, ...)  -> Value::global("numpy", descr)
//   multiarray._reconstruct(numpy.ndarray, (0,), b'b'), BUILD (1, shape, dtype, fortran, raw)
//                                                                -> Tensor
//   numeric._frombuffer(raw, dtype, shape, order)                -> Tensor (protocol 5)
//   _codecs.encode(str, 'latin1')                                -> Bytes
// Arrays are C-ordered, little-endian bool, (u)int8, int16/32/64 or float16/32/64; their
// bytes stay in the pickle's bytes object. Anything else is refused by name, and a
// persistent id is refused: such a file is not a dataset pickle.
class NumpyPickleHooks : public PickleHooks {
 public:
  Value find_global(const std::string& module, const std::string& name) override;
  Value reduce(const Value& callable, const Value& args) override;
  void build(Value& obj, const Value& state) override;
  Value persistent_load(const Value& pid) override;
  bool py2_strings_are_latin1() const override { return true; }
};

// The object pickled in the file at `path` (at most `max_bytes`); pth::Error naming
// nothing but the problem (the caller names the file).
Value read_numpy_pickle(const std::string& path, uint64_t max_bytes);

}  // namespace pth
