#pragma once
// Checks on the files the report writes: PNG and GIF headers read back, temporary folders.
#include <cstdint>
#include <string>

namespace kvscope::testing {

std::string read_file(const std::string& path);
// A fresh empty folder under the system's temporary one.
std::string temp_dir(const std::string& name);

struct PngSize {
  uint32_t width = 0, height = 0;
};
// The PNG signature and IHDR's dimensions; zeros when the bytes are not a PNG.
PngSize png_size(const std::string& bytes);

// Image descriptors in a GIF89a file, walking its blocks; -1 when the file is malformed.
int gif_frames(const std::string& bytes);

}  // namespace kvscope::testing
