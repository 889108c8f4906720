#pragma once
// Bounds-checked little-endian reads from a byte span; running past the end is an Error that names
// the file, the offset and what was being read.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "core/error.h"

namespace kvscope {

class ByteReader {
 public:
  ByteReader(std::span<const uint8_t> bytes, std::string source)
      : bytes_(bytes), source_(std::move(source)) {}

  size_t offset() const { return offset_; }
  size_t remaining() const { return bytes_.size() - offset_; }
  const std::string& source() const { return source_; }

  template <typename T>
  T read(std::string_view what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, bytes_.data() + offset_, sizeof(T));
    offset_ += sizeof(T);
    return v;
  }

  std::string read_string(std::string_view what) {
    const uint64_t n = read<uint64_t>(what);
    need(n, what);
    std::string s(reinterpret_cast<const char*>(bytes_.data() + offset_), n);
    offset_ += n;
    return s;
  }

  void need(uint64_t n, std::string_view what) const {
    if (n > remaining())
      fail("{}: truncated: {} needs {} bytes at offset {}, file has {} left", source_, what, n,
           offset_, remaining());
  }

 private:
  std::span<const uint8_t> bytes_;
  std::string source_;
  size_t offset_ = 0;
};

}  // namespace kvscope
