#include "bench/sweep.h"

#include <fmt/format.h>

#include "core/error.h"

namespace kvscope {

std::vector<Workload> sweep_workloads(const Model& model, const std::vector<int>& prompt_tokens,
                                      const std::vector<int>& new_tokens,
                                      const std::vector<int>& batch_sizes) {
  std::vector<Workload> workloads;
  for (int b : batch_sizes)
    for (int p : prompt_tokens)
      for (int g : new_tokens) {
        if (p < 1 || g < 1 || b < 1) fail("sweep lengths and batch sizes must be at least 1");
        Workload w{fmt::format("p{} g{} b{}", p, g, b), {}, g};
        for (int seq = 0; seq < b; ++seq) w.prompts.push_back(benchmark_prompt(model, p, 7 * seq));
        workloads.push_back(std::move(w));
      }
  if (workloads.empty())
    fail("the sweep has no points: give prompt lengths, generation lengths and batch sizes");
  return workloads;
}

}  // namespace kvscope
