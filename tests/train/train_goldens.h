#pragma once
// The fixtures of scripts/make_train_goldens.py: a tiny Llama's parameters, a batch, and what
// torch computed from them.
#include <cstring>
#include <string>
#include <vector>

#include "formats/model_file.h"
#include "formats/safetensors.h"
#include "test_paths.h"
#include "train/parameters.h"

namespace kvscope::testing {

inline train::TrainConfig golden_config() {
  train::TrainConfig c;
  c.vocab_size = 37;
  c.dim = 16;
  c.ffn_dim = 24;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.context = 16;
  c.tied_embeddings = false;
  return c;
}
constexpr int kGoldenBatch = 2, kGoldenSeq = 7;

struct TrainGoldens {
  ModelFile file;
  std::vector<float> read(const std::string& name) const {
    const TensorView& t = file.require(name);
    std::vector<float> out(static_cast<size_t>(t.elements()));
    std::memcpy(out.data(), t.data, out.size() * sizeof(float));
    return out;
  }
  std::vector<int32_t> ids(const std::string& name) const {
    std::vector<int32_t> out;
    for (float x : read(name)) out.push_back(static_cast<int32_t>(x));
    return out;
  }
  // The tensors `prefix` + each parameter's name, laid out as the trainer's buffer.
  std::vector<float> params(const std::string& prefix = "") const {
    const train::TrainConfig c = golden_config();
    std::vector<float> out;
    for (const train::ParamTensor& t : train::parameter_layout(c)) {
      const std::vector<float> v = read(prefix + t.name);
      out.insert(out.end(), v.begin(), v.end());
    }
    return out;
  }
};

inline const TrainGoldens& train_goldens() {
  static const TrainGoldens g = [] {
    TrainGoldens out;
    read_safetensors_file(fixture("train/grads.safetensors"), out.file);
    return out;
  }();
  return g;
}

// max |a − b| / max |b|
inline double relative_error(const float* a, const float* b, int64_t n) {
  double diff = 0, scale = 0;
  for (int64_t i = 0; i < n; ++i) {
    diff = std::max(diff, static_cast<double>(std::abs(a[i] - b[i])));
    scale = std::max(scale, static_cast<double>(std::abs(b[i])));
  }
  return diff / std::max(scale, 1e-30);
}

}  // namespace kvscope::testing
