#pragma once
// What a measurement ran on and came from, for every report's header and every result's
// provenance.
#include <nlohmann/json.hpp>
#include <string>

namespace kvscope {

std::string cpu_name();         // /proc/cpuinfo's model name
std::string kernel_isa_name();  // the instruction set the kernels dispatched to

struct BuildInfo {
  std::string version;   // the project's version
  std::string commit;    // git commit at configure time, "unknown" outside a checkout
  bool dirty = false;    // the checkout had changes to tracked files then
  int build_number = 0;  // commits up to it, as llama.cpp's build_number
  std::string compiler;  // "GNU 12.2.0"
  std::string flags;     // the C++ flags of this build type and the project's options
  std::string build_type;
};
const BuildInfo& build_info();

std::string utc_date();  // now, as ISO 8601 in UTC: "2026-12-01T21:40:00Z"

// SHA-256 of a file, or of a folder's regular files in name order (each name, a NUL, its bytes);
// Error if it cannot be read.
std::string sha256_hex(const std::string& path);

// The provenance every result records: kvscope's version, commit, compiler and flags; the CPU's
// vendor, family, model, name and flags; the kernels' instruction set; the threads; the model
// file and its SHA-256; the date (UTC, ISO 8601).
nlohmann::json provenance_json(const std::string& model_path, int threads);

}  // namespace kvscope
