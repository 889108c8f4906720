#include "metrics/system.h"

#include <fstream>

#include "kernels/cpu/dispatch.h"

namespace kvscope {

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) != 0) continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
  }
  return "unknown CPU";
}

std::string kernel_isa_name() { return std::string(isa_name(kernels().isa)); }

}  // namespace kvscope
