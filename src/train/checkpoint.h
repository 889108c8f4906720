#pragma once
// Checkpoints as Hugging Face folders (config.json, model.safetensors, tokenizer.json,
// tokenizer_config.json) that kvscope and transformers load, plus what resuming needs:
// optimizer.safetensors (AdamW's moments) and trainer_state.json (epoch, step, learning rate).
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/bpe_trainer.h"
#include "train/parameters.h"

namespace kvscope::train {

struct NamedTensor {
  std::string name;
  std::vector<int64_t> shape;
  const float* data = nullptr;
};
// Writes an F32 safetensors file; Error naming the path if it cannot.
void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors);

struct CheckpointState {
  TrainConfig config;
  BpeVocab vocab;
  std::vector<float> params, adam_m, adam_v;
  int64_t step = 0;
  int epoch = 0;         // epochs completed
  nlohmann::json extra;  // recorded in trainer_state.json as it is (options, figures)
};

void save_checkpoint(const std::string& dir, const CheckpointState& state);
// Error naming the file when the folder is not a checkpoint kvscope train wrote.
CheckpointState load_checkpoint(const std::string& dir);

}  // namespace kvscope::train
