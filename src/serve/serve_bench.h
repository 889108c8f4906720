#pragma once
// `kvscope bench serve`: a load on any OpenAI-compatible server, measured with vLLM's
// definitions (benchmarks/serve.py): TTFT, TPOT = (E2EL - TTFT) / (output tokens - 1) per
// request, ITL = every gap between chunks, E2EL; request, output and total token throughput over
// the run's duration; goodput = requests per second that met every given SLO.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "metrics/stats.h"
#include "serve/openai_client.h"
#include "tokenizer/tokenizer.h"

namespace kvscope::serve {

struct LoadOptions {
  int num_prompts = 100;
  double request_rate = 0;  // requests per second; 0: all at once (vLLM's inf)
  double burstiness = 1;    // gamma shape of the gaps; 1 is Poisson
  int max_concurrency = 0;  // 0: no limit
  int num_warmups = 0;
  uint64_t seed = 0;
  double goodput_ttft_ms = 0, goodput_tpot_ms = 0, goodput_e2el_ms = 0;  // 0: no such SLO
};

struct RandomDataset {
  int input_len = 1024, output_len = 128, prefix_len = 0;
  double range_ratio = 0;  // lengths drawn from [len·(1-r), len·(1+r)]
};

// Prompts of random tokens (a shared prefix first), decoded to text by `tokenizer`.
std::vector<ClientRequest> random_requests(const Tokenizer& tokenizer, const RandomDataset& d,
                                           int count, uint64_t seed, bool ignore_eos);
// The first human turn of each conversation in a ShareGPT JSON file, asking for as many tokens
// as its answer holds; Error naming the file when it is not of that form.
std::vector<ClientRequest> sharegpt_requests(const std::string& path, const Tokenizer& tokenizer,
                                             int count, uint64_t seed, bool ignore_eos);

struct ServeBenchResult {
  double duration_s = 0;
  int completed = 0, failed = 0, good = 0;
  int64_t input_tokens = 0, output_tokens = 0;
  Summary ttft_ms, tpot_ms, itl_ms, e2el_ms;
  std::vector<RequestTiming> requests;
  std::vector<std::string> errors;  // of the failed ones, first few
};

ServeBenchResult run_serve_bench(const Target& target, const std::vector<ClientRequest>& requests,
                                 const LoadOptions& options);
// vLLM's result fields (request_throughput, mean_ttft_ms, p99_itl_ms, ...).
nlohmann::json serve_bench_json(const ServeBenchResult& r, const LoadOptions& options);

}  // namespace kvscope::serve
