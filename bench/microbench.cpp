// Google Benchmark microbenchmarks of the kernels that decode and prefill spend their time in:
// the matmul of each weight type and precision, at decode (1 row) and prefill (64 rows) sizes,
// and attention over a growing cache, on each instruction set this CPU has.
//   build/release/bench/kvscope_microbench --benchmark_filter=Matmul
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "core/half.h"
#include "kernels/attention.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/matmul.h"
#include "kernels/packed.h"
#include "random_tensors.h"

namespace kvscope {
namespace {

// SmolLM2-135M's feed-forward up projection: 1536 rows of 576.
constexpr int64_t kCols = 576, kRows = 1536;

void matmul_benchmark(benchmark::State& state, DType type, Precision precision) {
  const int64_t n = state.range(0);
  const auto bytes = testing::random_row_bytes(type, kCols * kRows, 1);
  TensorView w;
  w.type = type;
  w.n_dims = 2;
  w.shape = {kCols, kRows, 1, 1};
  w.data = bytes.data();
  // Packed as a loaded model packs it, where this CPU's kernels read weights packed.
  const std::vector<uint8_t> packed =
      kernels().dot_packed != nullptr ? pack_rows(w) : std::vector<uint8_t>{};
  if (!packed.empty()) w.packed = packed.data();
  const auto x = testing::random_floats(static_cast<size_t>(n * kCols), 2);
  std::vector<float> out(static_cast<size_t>(n * kRows));
  ThreadPool pool(static_cast<int>(state.range(1)));
  for (auto _ : state) {
    matmul(pool, w, x.data(), n, out.data(), precision);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * w.bytes()));
  state.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * kCols * kRows * n * static_cast<double>(state.iterations()) / 1e9,
                         benchmark::Counter::kIsRate);
  state.SetLabel(fmt::format("{}{}", isa_name(kernels().isa), packed.empty() ? "" : " packed"));
}

void attention_benchmark(benchmark::State& state, Isa isa, bool f16) {
  // One KV head of SmolLM2-135M (3 query heads of 64 over a 192-wide KV row) at a given depth.
  const int length = static_cast<int>(state.range(0)), head_dim = 64, group = 3, kv_width = 192;
  const auto queries = testing::random_floats(group * head_dim, 3);
  const auto keys = testing::random_floats(static_cast<size_t>(length) * kv_width, 4);
  const auto values = testing::random_floats(static_cast<size_t>(length) * kv_width, 5);
  std::vector<uint16_t> keys16(keys.size()), values16(values.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    keys16[i] = f32_to_f16(keys[i]);
    values16[i] = f32_to_f16(values[i]);
  }
  AttentionScratch scratch;
  std::vector<float> out(group * head_dim);
  const int32_t one_block = 0;
  const size_t row_bytes = kv_width * (f16 ? 2 : 4);
  const CachedRows rows{f16 ? reinterpret_cast<const uint8_t*>(keys16.data())
                            : reinterpret_cast<const uint8_t*>(keys.data()),
                        f16 ? reinterpret_cast<const uint8_t*>(values16.data())
                            : reinterpret_cast<const uint8_t*>(values.data()),
                        &one_block,
                        0,
                        row_bytes,
                        length,
                        f16 ? DType::kF16 : DType::kF32};
  const AttentionHeads heads{queries.data(), rows, 0, group, head_dim, length};
  for (auto _ : state) {
    attend_heads(kernels_for(isa), heads, 0.125f, scratch, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * 2 * length * head_dim *
                          (f16 ? 2 : 4));
  state.SetLabel(std::string(isa_name(isa)));
}

void register_benchmarks() {
  for (DType type : {DType::kQ4_1, DType::kQ8_0, DType::kF16, DType::kBF16, DType::kF32})
    for (Precision precision : kChoosablePrecisions) {
      const std::string name =
          fmt::format("Matmul/{}/{}", dtype_name(type), precision_name(precision));
      benchmark::RegisterBenchmark(name.c_str(), matmul_benchmark, type, precision)
          ->ArgsProduct({{1, 64}, {1, 2}})
          ->ArgNames({"rows", "threads"})
          ->UseRealTime();
    }
  for (Isa isa : supported_isas())
    for (bool f16 : {false, true})
      benchmark::RegisterBenchmark(
          fmt::format("Attention/{}/{}", isa_name(isa), f16 ? "f16" : "f32").c_str(),
          attention_benchmark, isa, f16)
          ->Arg(128)
          ->Arg(512)
          ->Arg(2048)
          ->ArgName("depth");
}

}  // namespace
}  // namespace kvscope

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  kvscope::register_benchmarks();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
