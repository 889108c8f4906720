#pragma once
// `kvscope bench speed`: llama-bench's tests, timed as llama-bench times them and reported with
// its field names, so that the two can be compared line by line and a script written for
// llama-bench's output reads kvscope's. pp N: one prefill of N random tokens; tg N: N decode steps
// of one random token per sequence; pg N,M: both in one timing. Each test first fills the cache
// to the requested depth (untimed), runs once as warm-up, then `repetitions` timed runs. Several
// sequences decode together as llama-batched-bench's -npl asks. Several cache strategies are
// measured in one run, their repetitions alternated (A B A B) so that drift hits each alike.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "generate/session.h"

namespace kvscope {

struct SpeedTest {
  int n_prompt = 0;
  int n_gen = 0;
  int n_depth = 0;
  int n_parallel = 1;  // sequences decoded together
};

struct SpeedResult {
  SpeedTest test;
  CacheStrategy cache = CacheStrategy::kPaged;
  std::vector<uint64_t> samples_ns;  // the timed part of each repetition
  std::vector<double> samples_ts;    // tokens per second of each (every sequence's tokens)
  double avg_ts = 0;
  double stddev_ts = 0;
  // Decode only: bytes read per step (every weight once, plus each sequence's cached K and V at
  // the middle of the test) and the resulting rate at avg_ts.
  double bytes_per_step = 0;
  double achieved_gbs = 0;
};

struct SpeedOptions {
  int threads = 2;
  int repetitions = 5;
  KvType kv_type = KvType::kF16;  // llama-bench's default
  Precision precision = Precision::kFast;
  MatrixKinds split_kinds = 0;  // fast precision: kinds whose activations are split
};

// One result per strategy of `caches`, in that order.
std::vector<SpeedResult> run_speed_test(const Model& model, const SpeedTest& test,
                                        const SpeedOptions& options,
                                        const std::vector<CacheStrategy>& caches);
std::string speed_test_name(const SpeedTest& test);  // "pp512", "tg128 @ d512", "pp512+tg128"

// What a llama-bench record holds besides the test's figures. kvscope takes -b and -ub only to
// report them: it prefills a whole prompt in one step.
struct SpeedReport {
  SpeedOptions options;
  int n_batch = 2048;
  int n_ubatch = 512;
  double read_bandwidth_gbs = 0;  // measured, for decode tests' share of it; 0: not measured
  nlohmann::json provenance;      // metrics/system.h's provenance_json
};

// One test as llama-bench's JSON writes it: every field of its, in its order, with kvscope's
// values (a CPU-only build's for the GPU fields), then samples_ns and samples_ts, then kvscope's
// own: n_parallel, kv_cache, precision, bytes_per_step, achieved_gbs, bandwidth_share, provenance.
nlohmann::ordered_json llama_bench_record(const Model& model, const SpeedResult& result,
                                          const SpeedReport& report);
// llama-bench's CSV of such records: a header line, then every value quoted, booleans as 0 and
// 1; the samples and the provenance are left out, as llama-bench leaves its samples out.
std::string llama_bench_csv(const std::vector<nlohmann::ordered_json>& records);

}  // namespace kvscope
