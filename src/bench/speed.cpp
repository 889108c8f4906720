#include "bench/speed.h"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <memory>
#include <numeric>
#include <random>

#include "metrics/roofline.h"
#include "metrics/stats.h"
#include "models/config.h"

namespace kvscope {
namespace {

std::vector<int32_t> random_tokens(std::mt19937& rng, int vocab, int n) {
  std::uniform_int_distribution<int32_t> pick(0, vocab - 1);
  std::vector<int32_t> out(static_cast<size_t>(n));
  for (int32_t& t : out) t = pick(rng);
  return out;
}

// One repetition: returns the nanoseconds of the timed part. Each timed step computes every
// sequence's last logits, as llama_decode does for llama-bench's batches: the output head is
// part of what a prompt or a token costs.
uint64_t run_once(Session& session, const SpeedTest& test, std::mt19937& rng, int vocab) {
  const LogitsCallback computed = [](int, std::span<const float>) {};
  for (int s = 0; s < test.n_parallel; ++s) session.reset(s);
  if (test.n_depth > 0) {
    std::vector<std::vector<int32_t>> fill(static_cast<size_t>(test.n_parallel));
    for (auto& f : fill) f = random_tokens(rng, vocab, test.n_depth);
    session.feed(fill);
  }
  const auto start = Clock::now();
  if (test.n_prompt > 0) {
    std::vector<std::vector<int32_t>> prompt(static_cast<size_t>(test.n_parallel));
    for (auto& p : prompt) p = random_tokens(rng, vocab, test.n_prompt);
    session.feed(prompt, computed);
  }
  for (int i = 0; i < test.n_gen; ++i) {
    std::vector<std::vector<int32_t>> step(static_cast<size_t>(test.n_parallel));
    for (auto& s : step) s = random_tokens(rng, vocab, 1);
    session.feed(step, computed);
  }
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
}

// llama.cpp's names of general.file_type.
std::string file_type_name(int64_t type) {
  static const std::map<int64_t, std::string> kNames = {
      {0, "all F32"},        {1, "F16"},           {2, "Q4_0"},           {3, "Q4_1"},
      {7, "Q8_0"},           {8, "Q5_0"},          {9, "Q5_1"},           {14, "Q4_K - Small"},
      {15, "Q4_K - Medium"}, {16, "Q5_K - Small"}, {17, "Q5_K - Medium"}, {18, "Q6_K"},
      {32, "BF16"}};
  auto it = kNames.find(type);
  return it == kNames.end() ? "?" : it->second;
}

// llama_model_desc's "<architecture> <size> <file type>", e.g. "llama 135M Q4_1".
std::string model_type(const Model& model) {
  const double params = static_cast<double>(count_parameters(model.file()));
  const std::string size = params >= 1e9   ? fmt::format("{:.0f}B", params / 1e9)
                           : params >= 1e6 ? fmt::format("{:.0f}M", params / 1e6)
                                           : fmt::format("{:.0f}K", params / 1e3);
  return fmt::format("{} {} {}", model.config().arch_name, size,
                     file_type_name(model.file().meta.get_int("general.file_type", -1)));
}

uint64_t tensor_bytes(const ModelFile& file) {
  uint64_t bytes = 0;
  for (const auto& [name, t] : file.tensors) bytes += t.bytes();
  return bytes;
}

// llama-bench's averages: the mean of the samples, and its stdev (the sample one).
template <typename T>
T average(const std::vector<T>& v) {
  return v.empty() ? T(0) : std::accumulate(v.begin(), v.end(), T(0)) / static_cast<T>(v.size());
}
template <typename T>
T stdev(const std::vector<T>& v) {
  if (v.size() <= 1) return 0;
  std::vector<double> d(v.begin(), v.end());
  return static_cast<T>(summarize(d).stddev);
}

}  // namespace

std::string speed_test_name(const SpeedTest& test) {
  std::string name = test.n_prompt > 0 && test.n_gen > 0
                         ? fmt::format("pp{}+tg{}", test.n_prompt, test.n_gen)
                     : test.n_prompt > 0 ? fmt::format("pp{}", test.n_prompt)
                                         : fmt::format("tg{}", test.n_gen);
  if (test.n_parallel > 1) name += fmt::format(" ×{}", test.n_parallel);
  if (test.n_depth > 0) name += fmt::format(" @ d{}", test.n_depth);
  return name;
}

std::vector<SpeedResult> run_speed_test(const Model& model, const SpeedTest& test,
                                        const SpeedOptions& options,
                                        const std::vector<CacheStrategy>& caches) {
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<SpeedResult> results(caches.size());
  for (size_t c = 0; c < caches.size(); ++c) {
    SessionOptions so;
    so.cache = caches[c];
    so.kv_type = options.kv_type;
    so.precision = options.precision;
    so.split_kinds = options.split_kinds;
    so.threads = options.threads;
    so.n_seqs = test.n_parallel;
    so.n_ctx = test.n_depth + test.n_prompt + test.n_gen;
    sessions.push_back(std::make_unique<Session>(model, so));
    results[c].test = test;
    results[c].cache = caches[c];
  }
  std::mt19937 rng(1234);
  const int vocab = model.config().vocab_size;
  const double tokens = static_cast<double>(test.n_parallel) * (test.n_prompt + test.n_gen);
  for (auto& session : sessions) run_once(*session, test, rng, vocab);  // warm-up
  for (int r = 0; r < options.repetitions; ++r)
    for (size_t c = 0; c < caches.size(); ++c) {
      SpeedResult& result = results[c];
      result.samples_ns.push_back(run_once(*sessions[c], test, rng, vocab));
      result.samples_ts.push_back(1e9 * tokens / static_cast<double>(result.samples_ns.back()));
    }
  for (SpeedResult& result : results) {
    const Summary s = summarize(result.samples_ts);
    result.avg_ts = s.mean;
    result.stddev_ts = s.stddev;
    if (test.n_prompt == 0 && test.n_gen > 0) {
      const Roofline r = decode_roofline(model, options.kv_type, test.n_depth + test.n_gen / 2.0,
                                         test.n_parallel, result.avg_ts, 0);
      result.bytes_per_step = r.bytes_per_token * test.n_parallel;
      result.achieved_gbs = r.achieved_gbs;
    }
  }
  return results;
}

nlohmann::ordered_json llama_bench_record(const Model& model, const SpeedResult& r,
                                          const SpeedReport& report) {
  const nlohmann::json& p = report.provenance;
  const std::string kv_type(kv_type_name(report.options.kv_type));
  const double share =
      report.read_bandwidth_gbs > 0 ? r.achieved_gbs / report.read_bandwidth_gbs : 0.0;
  return {{"build_commit", p.value("git_commit", "unknown")},
          {"build_number", p.value("build_number", 0)},
          {"cpu_info", p.value("cpu", "unknown")},
          {"gpu_info", ""},
          {"backends", "CPU"},
          {"model_filename", model.file().path},
          {"model_type", model_type(model)},
          {"model_size", tensor_bytes(model.file())},
          {"model_n_params", count_parameters(model.file())},
          {"n_batch", report.n_batch},
          {"n_ubatch", report.n_ubatch},
          {"n_threads", report.options.threads},
          {"cpu_mask", "0x0"},
          {"cpu_strict", false},
          {"poll", 50},
          {"type_k", kv_type},
          {"type_v", kv_type},
          {"n_gpu_layers", 0},
          {"n_cpu_moe", 0},
          {"split_mode", "layer"},
          {"main_gpu", 0},
          {"no_kv_offload", false},
          {"flash_attn", false},
          {"devices", "auto"},
          {"tensor_split", "0.00"},
          {"tensor_buft_overrides", "none"},
          {"use_mmap", true},
          {"embeddings", false},
          {"no_op_offload", 0},
          {"no_host", false},
          {"n_prompt", r.test.n_prompt},
          {"n_gen", r.test.n_gen},
          {"n_depth", r.test.n_depth},
          {"test_time", p.value("date", "")},
          {"avg_ns", average(r.samples_ns)},
          {"stddev_ns", stdev(r.samples_ns)},
          {"avg_ts", r.avg_ts},
          {"stddev_ts", r.stddev_ts},
          {"samples_ns", r.samples_ns},
          {"samples_ts", r.samples_ts},
          {"n_parallel", r.test.n_parallel},
          {"kv_cache", strategy_name(r.cache)},
          {"precision", precision_name(report.options.precision)},
          {"split_matrices", matrix_kinds_name(report.options.split_kinds)},
          {"bytes_per_step", r.bytes_per_step},
          {"achieved_gbs", r.achieved_gbs},
          {"bandwidth_share", share},
          {"provenance", p}};
}

std::string llama_bench_csv(const std::vector<nlohmann::ordered_json>& records) {
  auto quoted = [](const nlohmann::ordered_json& v) {
    const std::string text = v.is_string()    ? v.get<std::string>()
                             : v.is_boolean() ? (v.get<bool>() ? "1" : "0")
                                              : v.dump();
    std::string out = "\"";
    for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
  };
  auto in_csv = [](const std::string& key) {
    return key != "samples_ns" && key != "samples_ts" && key != "provenance";
  };
  std::string out;
  for (size_t i = 0; i < records.size(); ++i) {
    std::string header, line;
    for (const auto& [key, value] : records[i].items()) {
      if (!in_csv(key)) continue;
      header += (header.empty() ? "" : ",") + key;
      line += (line.empty() ? "" : ",") + quoted(value);
    }
    if (i == 0) out += header + "\n";
    out += line + "\n";
  }
  return out;
}

}  // namespace kvscope
