#include "formats/gguf.h"

#include "core/error.h"
#include "formats/byte_reader.h"

namespace kvscope {
namespace {

constexpr uint32_t kMagic = 0x46554747;  // "GGUF" read as a little-endian u32
constexpr int kMaxArrayDepth = 4;

MetaValue read_value(ByteReader& r, MetaType type, const std::string& key, int depth);

MetaValue read_array(ByteReader& r, const std::string& key, int depth) {
  if (depth > kMaxArrayDepth) fail("{}: metadata '{}': arrays nested too deeply", r.source(), key);
  const auto item_type = static_cast<MetaType>(r.read<uint32_t>("array type"));
  const uint64_t n = r.read<uint64_t>("array length");
  // Every item takes at least one byte, so a count beyond the bytes left is corrupt; checking
  // it first keeps a bad count from allocating without bound.
  r.need(n, "array items of '" + key + "'");
  std::vector<MetaValue> items;
  items.reserve(n);
  for (uint64_t i = 0; i < n; ++i) items.push_back(read_value(r, item_type, key, depth + 1));
  return MetaValue::of_array(item_type, std::move(items));
}

MetaValue read_value(ByteReader& r, MetaType type, const std::string& key, int depth) {
  switch (type) {
    case MetaType::kU8:
      return MetaValue::of_int(r.read<uint8_t>("u8"), type);
    case MetaType::kI8:
      return MetaValue::of_int(r.read<int8_t>("i8"), type);
    case MetaType::kU16:
      return MetaValue::of_int(r.read<uint16_t>("u16"), type);
    case MetaType::kI16:
      return MetaValue::of_int(r.read<int16_t>("i16"), type);
    case MetaType::kU32:
      return MetaValue::of_int(r.read<uint32_t>("u32"), type);
    case MetaType::kI32:
      return MetaValue::of_int(r.read<int32_t>("i32"), type);
    case MetaType::kU64: {
      const uint64_t v = r.read<uint64_t>("u64");
      MetaValue m = MetaValue::of_int(static_cast<int64_t>(v), type);
      m.real = static_cast<double>(v);
      return m;
    }
    case MetaType::kI64:
      return MetaValue::of_int(r.read<int64_t>("i64"), type);
    case MetaType::kF32:
      return MetaValue::of_real(r.read<float>("f32"), type);
    case MetaType::kF64:
      return MetaValue::of_real(r.read<double>("f64"), type);
    case MetaType::kBool: {
      const uint8_t b = r.read<uint8_t>("bool");
      if (b > 1) fail("{}: metadata '{}': bool value {} is neither 0 nor 1", r.source(), key, b);
      return MetaValue::of_bool(b != 0);
    }
    case MetaType::kString:
      return MetaValue::of_string(r.read_string("string"));
    case MetaType::kArray:
      return read_array(r, key, depth);
  }
  fail("{}: metadata '{}' has unknown value type {}", r.source(), key, static_cast<uint32_t>(type));
}

TensorView read_tensor_info(ByteReader& r) {
  TensorView t;
  t.name = r.read_string("tensor name");
  const uint32_t n_dims = r.read<uint32_t>("tensor dimension count");
  if (n_dims == 0 || n_dims > 4)
    fail("{}: tensor '{}' has {} dimensions, expected 1 to 4", r.source(), t.name, n_dims);
  t.n_dims = static_cast<int>(n_dims);
  int64_t elements = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    const uint64_t size = r.read<uint64_t>("tensor dimension");
    // 2^48 elements is far past any real model and keeps every byte count below 2^63.
    if (size == 0 || size > (1ull << 48) ||
        elements > (int64_t{1} << 48) / static_cast<int64_t>(size))
      fail("{}: tensor '{}' has an invalid dimension {}", r.source(), t.name, size);
    t.shape[d] = static_cast<int64_t>(size);
    elements *= t.shape[d];
  }
  const uint32_t ggml_type = r.read<uint32_t>("tensor type");
  auto type = dtype_from_ggml(ggml_type);
  if (!type)
    fail(
        "{}: tensor '{}' has unsupported type {} (supported: F32 F16 BF16 Q8_0 Q4_0 Q4_1 Q5_0 "
        "Q5_1 Q4_K Q5_K Q6_K)",
        r.source(), t.name, ggml_type);
  t.type = *type;
  if (t.shape[0] % dtype_info(t.type).block_size != 0)
    fail("{}: tensor '{}' row of {} elements is not a whole number of {} blocks", r.source(),
         t.name, t.shape[0], dtype_name(t.type));
  // The data offset is parked in `data` until the data section's start is known.
  t.data = reinterpret_cast<const uint8_t*>(r.read<uint64_t>("tensor offset"));
  return t;
}

}  // namespace

void parse_gguf(std::span<const uint8_t> bytes, ModelFile& out) {
  ByteReader r(bytes, out.path);
  const uint32_t magic = r.read<uint32_t>("magic");
  if (magic != kMagic) fail("{}: not a GGUF file (wrong magic)", out.path);
  const uint32_t version = r.read<uint32_t>("version");
  if (version != 2 && version != 3)
    fail("{}: GGUF version {} is not supported (expected 2 or 3)", out.path, version);
  const uint64_t n_tensors = r.read<uint64_t>("tensor count");
  const uint64_t n_kv = r.read<uint64_t>("metadata count");
  r.need(n_kv, "metadata entries");
  r.need(n_tensors, "tensor infos");

  out.format = FileFormat::kGguf;
  out.file_bytes = bytes.size();
  out.meta = Metadata(out.path);
  out.meta.set("GGUF.version", MetaValue::of_int(version, MetaType::kU32));
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string key = r.read_string("metadata key");
    const auto type = static_cast<MetaType>(r.read<uint32_t>("metadata type"));
    MetaValue value = read_value(r, type, key, 0);
    if (out.meta.has(key)) fail("{}: metadata key '{}' appears twice", out.path, key);
    out.meta.set(key, std::move(value));
  }

  std::vector<TensorView> infos;
  for (uint64_t i = 0; i < n_tensors; ++i) infos.push_back(read_tensor_info(r));

  const int64_t alignment = out.meta.get_int("general.alignment", 32);
  if (alignment <= 0 || alignment > (1 << 20) || (alignment & (alignment - 1)) != 0)
    fail("{}: general.alignment {} is not a power of two", out.path, alignment);
  const uint64_t data_start = (r.offset() + alignment - 1) / alignment * alignment;
  const uint64_t data_bytes = data_start <= bytes.size() ? bytes.size() - data_start : 0;

  for (TensorView& t : infos) {
    const auto offset = reinterpret_cast<uint64_t>(t.data);
    if (offset % static_cast<uint64_t>(alignment) != 0)
      fail("{}: tensor '{}' offset {} is not aligned to {}", out.path, t.name, offset, alignment);
    if (offset > data_bytes || t.bytes() > data_bytes - offset)
      fail("{}: tensor '{}' data ({} bytes at offset {}) runs past the end of the file", out.path,
           t.name, t.bytes(), offset);
    t.data = bytes.data() + data_start + offset;
    const std::string name = t.name;
    if (!out.tensors.emplace(name, std::move(t)).second)
      fail("{}: tensor '{}' appears twice", out.path, name);
  }
}

std::unique_ptr<ModelFile> read_gguf(const std::string& path) {
  auto out = std::make_unique<ModelFile>();
  out->path = path;
  out->mappings.push_back(std::make_unique<MappedFile>(path));
  parse_gguf(out->mappings.back()->bytes(), *out);
  return out;
}

}  // namespace kvscope
