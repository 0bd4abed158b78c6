#pragma once
// Hand assembly of pickle programs for the unit tests: PB().proto().k(1).stop().s
#include <cstdint>
#include <string>
#include <string_view>

#include "pth/bytes.hpp"

struct PB {
  std::string s;
  PB& op(int c) {
    s += char(uint8_t(c));
    return *this;
  }
  PB& raw(std::string_view x) {
    s.append(x.data(), x.size());
    return *this;
  }
  PB& u16(uint16_t v) { return op(v & 0xff).op(v >> 8); }
  PB& u32(uint32_t v) {
    for (int i = 0; i < 4; ++i) op(int((v >> (8 * i)) & 0xff));
    return *this;
  }
  PB& u64(uint64_t v) {
    for (int i = 0; i < 8; ++i) op(int((v >> (8 * i)) & 0xff));
    return *this;
  }
  PB& proto(int p = 2) { return op(0x80).op(p); }
  PB& stop() { return op('.'); }
  PB& mark() { return op('('); }
  PB& k(uint8_t v) { return op('K').op(v); }
  PB& str(std::string_view x) { return op('X').u32(uint32_t(x.size())).raw(x); }
  PB& global(std::string_view m, std::string_view n) { return op('c').raw(m).op('\n').raw(n).op('\n'); }
  PB& put(uint8_t i) { return op('q').op(i); }
  PB& get(uint8_t i) { return op('h').op(i); }
};

inline pth::ByteView view(const std::string& s) { return {s.data(), s.size()}; }
