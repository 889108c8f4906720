#pragma once
// `kvscope bench cases` (seed 004): named workloads of one or several prompts, built in or read
// from a JSON file:
//   {"cases": [{"name": "two_questions", "prompts": ["Why is the sky blue?", "What is rain?"],
//               "new_tokens": 16}]}
// ("new_tokens" is optional; the command's --new-tokens is the default).
#include <string>
#include <vector>

#include "bench/workload.h"

namespace kvscope {

// single_short, single_medium, batch_4_short, batch_4_medium, batch_3_mixed.
std::vector<Workload> builtin_cases(const Model& model, int new_tokens);
std::vector<Workload> load_cases(const Model& model, const std::string& path, int new_tokens);

}  // namespace kvscope
