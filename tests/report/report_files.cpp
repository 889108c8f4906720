#include "report/report_files.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace kvscope::testing {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string temp_dir(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("kvscope_report_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

namespace {
uint32_t big_endian(const std::string& b, size_t at) {
  return (uint32_t(uint8_t(b[at])) << 24) | (uint32_t(uint8_t(b[at + 1])) << 16) |
         (uint32_t(uint8_t(b[at + 2])) << 8) | uint8_t(b[at + 3]);
}
}  // namespace

PngSize png_size(const std::string& bytes) {
  if (bytes.size() < 24 || bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") != 0 ||
      bytes.compare(12, 4, "IHDR") != 0)
    return {};
  return {big_endian(bytes, 16), big_endian(bytes, 20)};
}

int gif_frames(const std::string& b) {
  if (b.size() < 13 || b.compare(0, 6, "GIF89a") != 0) return -1;
  const auto byte = [&](size_t at) { return at < b.size() ? int(uint8_t(b[at])) : -1; };
  const auto colour_table = [](int flags) { return (flags & 0x80) ? 3 * (2 << (flags & 7)) : 0; };
  size_t at = 13 + colour_table(byte(10));
  // Sub-blocks: a length byte, that many bytes, until a zero length.
  const auto skip_sub_blocks = [&]() {
    for (int n = byte(at); n > 0; n = byte(at)) at += n + 1;
    ++at;
  };
  int frames = 0;
  for (;;) {
    switch (byte(at)) {
      case 0x21:  // extension: introducer, label, sub-blocks
        at += 2;
        skip_sub_blocks();
        break;
      case 0x2c:  // image: descriptor, optional local table, LZW code size, sub-blocks
        ++frames;
        at += 10 + colour_table(byte(at + 9)) + 1;
        skip_sub_blocks();
        break;
      case 0x3b:
        return frames;
      default:
        return -1;
    }
    if (at > b.size()) return -1;
  }
}

}  // namespace kvscope::testing
