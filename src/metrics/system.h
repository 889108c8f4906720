#pragma once
// What a measurement ran on, for every report's header.
#include <string>

namespace kvscope {

std::string cpu_name();        // /proc/cpuinfo's model name
std::string kernel_isa_name();  // the instruction set the kernels dispatched to

}  // namespace kvscope
