#include "train/checkpoint.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "formats/model_file.h"
#include "formats/safetensors.h"
#include "train/tokenizer_files.h"

namespace kvscope::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) fail("{}: cannot be written", path.string());
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) fail("{}: cannot be opened (not a checkpoint of kvscope train?)", path.string());
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    fail("{}: not valid JSON (byte {})", path.string(), e.byte);
  }
}

struct Wanted {
  std::string name;
  int64_t size;
  float* dst;
};

// Copies a safetensors file's F32 tensors into place, each checked for its name and size.
void copy_tensors(const fs::path& path, const std::vector<Wanted>& wanted) {
  ModelFile file;
  read_safetensors_file(path.string(), file);
  for (const Wanted& w : wanted) {
    const TensorView* t = file.find(w.name);
    if (t == nullptr || t->type != DType::kF32 || t->elements() != w.size)
      fail("{}: tensor '{}' is missing or not F32 of {} values", path.string(), w.name, w.size);
    std::memcpy(w.dst, t->data, static_cast<size_t>(w.size) * sizeof(float));
  }
}

BpeVocab vocab_from_json(const json& tok, const std::string& path) {
  BpeVocab v;
  try {
    const json& vocab = tok.at("model").at("vocab");
    v.tokens.resize(vocab.size());
    for (const auto& [text, id] : vocab.items()) v.tokens.at(id.get<size_t>()) = text;
    for (const json& m : tok.at("model").at("merges"))
      v.merges.emplace_back(m.at(0).get<std::string>(), m.at(1).get<std::string>());
    v.n_special = static_cast<int>(tok.at("added_tokens").size());
  } catch (const json::exception& e) {
    fail("{}: not a tokenizer kvscope train wrote: {}", path, e.what());
  }
  return v;
}

}  // namespace

void write_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors) {
  json header = json::object();
  int64_t offset = 0;
  for (const NamedTensor& t : tensors) {
    int64_t bytes = sizeof(float);
    for (int64_t d : t.shape) bytes *= d;
    header[t.name] = {
        {"dtype", "F32"}, {"shape", t.shape}, {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  header["__metadata__"] = {{"format", "pt"}};
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');  // the data starts 8-byte aligned
  std::string bytes(8, '\0');
  const uint64_t length = text.size();
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  bytes += text;
  for (const NamedTensor& t : tensors) {
    int64_t n = 1;
    for (int64_t d : t.shape) n *= d;
    bytes.append(reinterpret_cast<const char*>(t.data), static_cast<size_t>(n) * sizeof(float));
  }
  write_file(path, bytes);
}

void save_checkpoint(const std::string& dir_name, const CheckpointState& s) {
  const fs::path dir(dir_name);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) fail("{}: cannot create the checkpoint folder: {}", dir_name, ec.message());
  std::vector<NamedTensor> weights;
  for (const ParamTensor& t : parameter_layout(s.config))
    weights.push_back({t.name, t.shape, s.params.data() + t.offset});
  write_safetensors((dir / "model.safetensors").string(), weights);
  const auto n = static_cast<int64_t>(s.params.size());
  write_safetensors((dir / "optimizer.safetensors").string(),
                    {{"adamw.m", {n}, s.adam_m.data()}, {"adamw.v", {n}, s.adam_v.data()}});
  write_file(dir / "config.json", config_to_json(s.config, 2).dump(2) + "\n");
  write_file(dir / "tokenizer.json", tokenizer_json(s.vocab).dump() + "\n");
  write_file(dir / "tokenizer_config.json", tokenizer_config_json(s.config.context).dump(2) + "\n");
  write_file(dir / "generation_config.json", json{{"eos_token_id", 2}}.dump(2) + "\n");
  json state = {{"step", s.step}, {"epoch", s.epoch}, {"extra", s.extra}};
  write_file(dir / "trainer_state.json", state.dump(2) + "\n");
}

CheckpointState load_checkpoint(const std::string& dir_name) {
  const fs::path dir(dir_name);
  CheckpointState s;
  s.config = config_from_json(read_json(dir / "config.json"), (dir / "config.json").string());
  s.vocab = vocab_from_json(read_json(dir / "tokenizer.json"), (dir / "tokenizer.json").string());
  const std::vector<ParamTensor> layout = parameter_layout(s.config);
  s.params.resize(static_cast<size_t>(parameter_count(layout)));
  std::vector<Wanted> wanted;
  for (const ParamTensor& t : layout)
    wanted.push_back({t.name, t.size, s.params.data() + t.offset});
  copy_tensors(dir / "model.safetensors", wanted);
  const auto n = static_cast<int64_t>(s.params.size());
  s.adam_m.resize(s.params.size());
  s.adam_v.resize(s.params.size());
  copy_tensors(dir / "optimizer.safetensors",
               {{"adamw.m", n, s.adam_m.data()}, {"adamw.v", n, s.adam_v.data()}});
  const json state = read_json(dir / "trainer_state.json");
  s.step = state.value("step", int64_t{0});
  s.epoch = state.value("epoch", 0);
  s.extra = state.value("extra", json::object());
  return s;
}

}  // namespace kvscope::train
