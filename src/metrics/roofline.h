#pragma once
// How close decode comes to the machine's limits: bytes read and FLOPs per generated token,
// against the measured read bandwidth. Decode of small batches is bound by memory: every weight
// is read once per step (shared by the batch) and each sequence reads its own cached K and V.
#include <nlohmann/json.hpp>
#include <string>

#include "kvcache/kv_cache.h"
#include "models/model.h"

namespace kvscope {

struct Roofline {
  double weight_bytes_per_token = 0;  // the step's weight reads, shared by the batch
  double kv_bytes_per_token = 0;      // K and V of every cached position, every layer
  double bytes_per_token = 0;
  double flops_per_token = 0;  // 2 per weight, plus attention's q·k and weights·v
  double tokens_per_s = 0;     // measured decode rate, all sequences together
  double achieved_gbs = 0;
  double achieved_gflops = 0;
  double bandwidth_gbs = 0;    // measured read bandwidth (0: not measured)
  double bandwidth_share = 0;  // achieved / bandwidth
};

// mean_context: the average number of cached positions a decode step attends to.
Roofline decode_roofline(const Model& model, KvType kv_type, double mean_context, int batch,
                         double tokens_per_s, double bandwidth_bytes_per_s);
std::string format_roofline(const Roofline& r);
nlohmann::json roofline_json(const Roofline& r);

}  // namespace kvscope
