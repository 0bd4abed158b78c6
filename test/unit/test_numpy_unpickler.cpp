// The dataset pickle reader: Python 2 strings read as latin-1, NumPy arrays in the form
// Python 2's cPickle wrote CIFAR's batches in, and what it refuses. (Python 3's pickles of
// the same, protocols 2 to 5, are checked against real Python in test_sg_cifar.py.)
#include <catch2/catch.hpp>

#include <cstring>

#include "pickle_builder.hpp"
#include "pth/error.hpp"
#include "pth/numpy_unpickler.hpp"
#include "pth/torch_unpickler.hpp"

using namespace pth;

namespace {

PB& short_binstring(PB& p, std::string_view s) { return p.op('U').op(int(s.size())).raw(s); }

// numpy.dtype(descr, False, True) with BUILD state (3, byteorder, None, None, None, -1, -1, 0).
PB& dtype(PB& p, std::string_view descr, std::string_view byteorder) {
  p.global("numpy", "dtype").mark();
  short_binstring(p, descr).op(0x89).op(0x88).op('t').op('R');
  p.mark().k(3);
  short_binstring(p, byteorder);
  return p.op('N').op('N').op('N').op('J').u32(0xffffffff).op('J').u32(0xffffffff).k(0).op('t').op('b');
}

// numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), 'b') with BUILD state
// (1, shape, dtype, False, raw) as Python 2 wrote it: every str a BINSTRING.
std::string py2_array(std::string_view descr, std::string_view byteorder, std::initializer_list<uint8_t> shape,
                      std::string_view raw, bool fortran = false) {
  PB p;
  p.proto(2).global("numpy.core.multiarray", "_reconstruct").global("numpy", "ndarray").k(0).op(0x85);
  short_binstring(p, "b").op(0x87).op('R');
  p.mark().k(1).mark();
  for (uint8_t d : shape) p.k(d);
  p.op('t');
  dtype(p, descr, byteorder).op(fortran ? 0x88 : 0x89);
  p.op('T').u32(uint32_t(raw.size())).raw(raw).op('t').op('b');
  return p.stop().s;
}

Value read(const std::string& bytes) {
  NumpyPickleHooks hooks;
  return unpickle(view(bytes), hooks);
}

std::string error_of(const std::string& bytes) {
  try {
    read(bytes);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("Python 2 strings are latin-1 for dataset pickles, UTF-8 text for checkpoints", "[numpy]") {
  PB p;
  p.proto(2);
  const std::string bytes = short_binstring(p, "\xff\x41").stop().s;
  CHECK(read(bytes).as_string() == "\xc3\xbf" "A");
  TorchPickleHooks torch_hooks([](const Value&) -> Value { throw FormatError("no storages"); });
  CHECK_THROWS_WITH(unpickle(view(bytes), torch_hooks), Catch::Contains("not valid UTF-8"));
}

TEST_CASE("a Python 2 NumPy array becomes a tensor over its bytes", "[numpy]") {
  const std::string raw("\x00\x01\xfe\xff\x80\x7f", 6);
  const Value v = read(py2_array("u1", "|", {2, 3}, raw));
  REQUIRE(v.is_tensor());
  const Tensor& t = *v.as_tensor();
  CHECK(t.dtype == DType::UInt8);
  CHECK(t.shape == std::vector<int64_t>{2, 3});
  CHECK(t.stride == std::vector<int64_t>{3, 1});
  const ByteView b = t.storage->data->bytes();
  REQUIRE(b.size == 6);
  CHECK(std::memcmp(b.data, raw.data(), 6) == 0);

  const Value longs = read(py2_array("i8", "<", {2}, std::string("\x05\0\0\0\0\0\0\0\xff\xff\xff\xff\xff\xff\xff\xff", 16)));
  CHECK(longs.as_tensor()->dtype == DType::Int64);
  CHECK(longs.as_tensor()->numel() == 2);
}

TEST_CASE("dataset pickles refuse what is not plain data and arrays", "[numpy]") {
  CHECK(error_of(py2_array("u1", "|", {2, 2}, "abc")) ==
        "numpy.ndarray: array of 4 elements of uint8 holds 3 bytes");
  CHECK(error_of(py2_array("i4", ">", {1}, "abcd")) == "numpy.dtype: big-endian arrays are not supported");
  CHECK(error_of(py2_array("u1", "|", {2, 2}, "abcd", true)) == "numpy.ndarray: Fortran-ordered arrays are not supported");
  CHECK(error_of(py2_array("c16", "<", {1}, std::string(16, 'x'))) ==
        "numpy.dtype: only bool, (u)int8, int16/32/64 and float16/32/64 dtypes are supported");
  CHECK(error_of(PB().proto(2).global("posix", "system").stop().s) ==
        "refused global 'posix.system' (a dataset pickle holds only NumPy arrays)");
  CHECK(error_of(PB().proto(2).global("torch._utils", "_rebuild_tensor_v2").stop().s) ==
        "refused global 'torch._utils._rebuild_tensor_v2' (a dataset pickle holds only NumPy arrays)");
  CHECK(error_of(PB().proto(2).str("id").op('Q').stop().s) == "refused persistent id (a dataset pickle has none)");
}
