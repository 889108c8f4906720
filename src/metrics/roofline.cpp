#include "metrics/roofline.h"

#include <fmt/format.h>

namespace kvscope {

Roofline decode_roofline(const Model& model, KvType kv_type, double mean_context, int batch,
                         double tokens_per_s, double bandwidth_bytes_per_s) {
  const ModelConfig& c = model.config();
  Roofline r;
  r.weight_bytes_per_token = static_cast<double>(model.weight_bytes_per_token()) / batch;
  r.kv_bytes_per_token =
      2.0 * c.n_layers *
      static_cast<double>(dtype_bytes(kv_dtype(kv_type), static_cast<size_t>(c.kv_dim()))) *
      mean_context;
  r.bytes_per_token = r.weight_bytes_per_token + r.kv_bytes_per_token;
  r.flops_per_token = 2.0 * static_cast<double>(model.matmul_weights()) +
                      4.0 * c.n_layers * c.q_dim() * mean_context;
  r.tokens_per_s = tokens_per_s;
  r.achieved_gbs = r.bytes_per_token * tokens_per_s / 1e9;
  r.achieved_gflops = r.flops_per_token * tokens_per_s / 1e9;
  r.bandwidth_gbs = bandwidth_bytes_per_s / 1e9;
  r.bandwidth_share = r.bandwidth_gbs > 0 ? r.achieved_gbs / r.bandwidth_gbs : 0;
  return r;
}

std::string format_roofline(const Roofline& r) {
  std::string out = "  Roofline (decode)\n";
  out += fmt::format(
      "    Bytes read per token  {:.2f} MiB ({:.2f} MiB weights, {:.3f} MiB KV cache)\n",
      r.bytes_per_token / 1048576, r.weight_bytes_per_token / 1048576,
      r.kv_bytes_per_token / 1048576);
  out += fmt::format(
      "    Achieved              {:.1f} GB/s, {:.1f} GFLOP/s ({:.3f} GFLOP per token)\n",
      r.achieved_gbs, r.achieved_gflops, r.flops_per_token / 1e9);
  if (r.bandwidth_gbs > 0)
    out += fmt::format(
        "    Memory bandwidth      {:.1f} GB/s measured: {:.0f}% of the limit reached\n",
        r.bandwidth_gbs, 100 * r.bandwidth_share);
  return out;
}

nlohmann::json roofline_json(const Roofline& r) {
  return {{"weight_bytes_per_token", r.weight_bytes_per_token},
          {"kv_bytes_per_token", r.kv_bytes_per_token},
          {"bytes_per_token", r.bytes_per_token},
          {"flops_per_token", r.flops_per_token},
          {"tokens_per_s", r.tokens_per_s},
          {"achieved_gbs", r.achieved_gbs},
          {"achieved_gflops", r.achieved_gflops},
          {"bandwidth_gbs", r.bandwidth_gbs},
          {"bandwidth_share", r.bandwidth_share}};
}

}  // namespace kvscope
