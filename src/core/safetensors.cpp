#include "core/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/half.h"
#include "core/thread_pool.h"

namespace clipdex {
namespace {

// A header larger than this is not a checkpoint header (real ones are well under 1 MB).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

struct DTypeInfo {
  DType type;
  const char* name;
  size_t size;
};
constexpr DTypeInfo kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F16, "F16", 2}, {DType::BF16, "BF16", 2},
    {DType::I32, "I32", 4}, {DType::I64, "I64", 8}, {DType::U8, "U8", 1}, {DType::F64, "F64", 8},
};

const DTypeInfo& info(DType t) {
  for (const auto& d : kDTypes)
    if (d.type == t) return d;
  throw Error("unknown dtype");
}

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

int64_t checked_offset(const nlohmann::json& j, const std::string& origin, const std::string& name) {
  if (!j.is_number_unsigned()) throw_input("{}: tensor '{}': data_offsets must be non-negative integers", origin, name);
  uint64_t v = j.get<uint64_t>();
  if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    throw_input("{}: tensor '{}': offset {} is too large", origin, name, v);
  return static_cast<int64_t>(v);
}

TensorView parse_entry(const std::string& name, const nlohmann::json& e, std::span<const uint8_t> data,
                       const std::string& origin, std::pair<int64_t, int64_t>& range) {
  if (!e.is_object()) throw_input("{}: tensor '{}': entry is not an object", origin, name);
  auto dt = e.find("dtype");
  auto sh = e.find("shape");
  auto off = e.find("data_offsets");
  if (dt == e.end() || sh == e.end() || off == e.end())
    throw_input("{}: tensor '{}': needs dtype, shape and data_offsets", origin, name);
  if (!dt->is_string()) throw_input("{}: tensor '{}': dtype is not a string", origin, name);
  auto type = parse_dtype(dt->get<std::string>());
  if (!type) throw_input("{}: tensor '{}': unsupported dtype '{}'", origin, name, dt->get<std::string>());
  if (!sh->is_array()) throw_input("{}: tensor '{}': shape is not an array", origin, name);
  if (!off->is_array() || off->size() != 2) throw_input("{}: tensor '{}': data_offsets must be [begin, end]", origin, name);

  TensorView v;
  v.name = name;
  v.dtype = *type;
  uint64_t count = 1;
  for (const auto& d : *sh) {
    if (!d.is_number_unsigned()) throw_input("{}: tensor '{}': shape entries must be non-negative integers", origin, name);
    uint64_t n = d.get<uint64_t>();
    if (n != 0 && count > (std::numeric_limits<uint64_t>::max() >> 4) / n)
      throw_input("{}: tensor '{}': shape is too large", origin, name);
    count *= n;
    v.shape.push_back(static_cast<int64_t>(n));
  }
  const int64_t begin = checked_offset((*off)[0], origin, name);
  const int64_t end = checked_offset((*off)[1], origin, name);
  if (begin > end) throw_input("{}: tensor '{}': data_offsets begin {} > end {}", origin, name, begin, end);
  if (static_cast<uint64_t>(end) > data.size())
    throw_input("{}: tensor '{}': data_offsets end {} is past the data ({} bytes)", origin, name, end, data.size());
  const uint64_t expected = count * dtype_size(*type);
  if (expected != static_cast<uint64_t>(end - begin))
    throw_input("{}: tensor '{}': {} x {} needs {} bytes but data_offsets span {}", origin, name,
                dt->get<std::string>(), sh->dump(), expected, end - begin);
  v.bytes = data.subspan(static_cast<size_t>(begin), static_cast<size_t>(end - begin));
  range = {begin, end};
  return v;
}

}  // namespace

size_t dtype_size(DType t) { return info(t).size; }
const char* dtype_name(DType t) { return info(t).name; }

std::optional<DType> parse_dtype(const std::string& name) {
  for (const auto& d : kDTypes)
    if (name == d.name) return d.type;
  return std::nullopt;
}

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (auto d : shape) n *= d;
  return n;
}

namespace {

// Converts elements [begin, end) of a raw tensor to fp32.
void convert_range(const uint8_t* p, DType dtype, size_t begin, size_t end, float* out) {
  if (dtype == DType::F16) {
    f16_to_f32_array(p + 2 * begin, out + begin, end - begin);
    return;
  }
  for (size_t i = begin; i < end; ++i) {
    switch (dtype) {
      case DType::F32: std::memcpy(&out[i], p + 4 * i, 4); break;
      case DType::F16: { uint16_t h; std::memcpy(&h, p + 2 * i, 2); out[i] = f16_to_f32(h); break; }
      case DType::BF16: { uint16_t h; std::memcpy(&h, p + 2 * i, 2); out[i] = bf16_to_f32(h); break; }
      case DType::I32: { int32_t v; std::memcpy(&v, p + 4 * i, 4); out[i] = static_cast<float>(v); break; }
      case DType::I64: { int64_t v; std::memcpy(&v, p + 8 * i, 8); out[i] = static_cast<float>(v); break; }
      case DType::U8: out[i] = p[i]; break;
      case DType::F64: { double v; std::memcpy(&v, p + 8 * i, 8); out[i] = static_cast<float>(v); break; }
    }
  }
}

}  // namespace

std::vector<float> TensorView::to_f32() const {
  const size_t n = static_cast<size_t>(numel());
  std::vector<float> out(n);
  // Large tensors (embeddings, MLP weights) convert on every core: it dominates model load.
  constexpr size_t kParallelFrom = 1u << 20;
  if (n >= kParallelFrom) {
    ThreadPool::global().parallel_for(n, [&](size_t b, size_t e) { convert_range(bytes.data(), dtype, b, e, out.data()); });
  } else {
    convert_range(bytes.data(), dtype, 0, n, out.data());
  }
  return out;
}

std::vector<int32_t> TensorView::to_i32() const {
  const size_t n = static_cast<size_t>(numel());
  std::vector<int32_t> out(n);
  if (dtype == DType::I32) {
    std::memcpy(out.data(), bytes.data(), n * 4);
  } else if (dtype == DType::I64) {
    for (size_t i = 0; i < n; ++i) {
      int64_t v;
      std::memcpy(&v, bytes.data() + 8 * i, 8);
      if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max())
        throw_input("tensor '{}': value {} does not fit int32", name, v);
      out[i] = static_cast<int32_t>(v);
    }
  } else {
    throw_input("tensor '{}': expected an integer tensor, got {}", name, dtype_name(dtype));
  }
  return out;
}

SafeTensors SafeTensors::open(const std::string& path) {
  auto file = std::make_shared<MappedFile>(path);
  SafeTensors st = parse(file->bytes(), path);
  st.file_ = std::move(file);
  return st;
}

SafeTensors SafeTensors::parse(std::span<const uint8_t> bytes, const std::string& origin) {
  if (bytes.size() < 8) throw_input("{}: not a safetensors file (only {} bytes)", origin, bytes.size());
  const uint64_t header_len = read_le64(bytes.data());
  if (header_len > bytes.size() - 8)
    throw_input("{}: header length {} is past the end of the file ({} bytes)", origin, header_len, bytes.size());
  if (header_len > kMaxHeaderBytes) throw_input("{}: header length {} is implausibly large", origin, header_len);
  auto header_bytes = bytes.subspan(8, static_cast<size_t>(header_len));
  auto header = nlohmann::json::parse(header_bytes.begin(), header_bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (header.is_discarded()) throw_input("{}: header is not valid JSON", origin);
  if (!header.is_object()) throw_input("{}: header is not a JSON object", origin);

  SafeTensors st;
  st.origin_ = origin;
  st.raw_ = bytes;
  auto data = bytes.subspan(8 + static_cast<size_t>(header_len));
  std::vector<std::pair<std::pair<int64_t, int64_t>, std::string>> ranges;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (!entry.is_object()) throw_input("{}: __metadata__ is not an object", origin);
      for (const auto& [k, v] : entry.items()) {
        if (!v.is_string()) throw_input("{}: __metadata__ value '{}' is not a string", origin, k);
        st.metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    std::pair<int64_t, int64_t> range;
    st.tensors_.emplace(name, parse_entry(name, entry, data, origin, range));
    ranges.push_back({range, name});
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    const auto& prev = ranges[i - 1];
    const auto& cur = ranges[i];
    if (cur.first.first < prev.first.second && cur.first.first != cur.first.second &&
        prev.first.first != prev.first.second)
      throw_input("{}: tensors '{}' and '{}' overlap", origin, prev.second, cur.second);
  }
  return st;
}

const TensorView& SafeTensors::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it == tensors_.end()) throw_input("{}: missing tensor '{}'", origin_, name);
  return it->second;
}

TensorData make_f32_tensor(std::vector<int64_t> shape, std::span<const float> values) {
  TensorData t;
  t.dtype = DType::F32;
  t.shape = std::move(shape);
  t.bytes.resize(values.size() * 4);
  std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
  return t;
}

void write_safetensors(const std::string& path, const std::map<std::string, TensorData>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  nlohmann::json header = nlohmann::json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    uint64_t count = 1;
    for (auto d : t.shape) count *= static_cast<uint64_t>(d);
    if (count * dtype_size(t.dtype) != t.bytes.size())
      throw Error(fmt::format("write_safetensors: tensor '{}' has {} bytes, shape needs {}", name,
                              t.bytes.size(), count * dtype_size(t.dtype)));
    header[name] = {{"dtype", dtype_name(t.dtype)}, {"shape", t.shape},
                    {"data_offsets", {offset, offset + t.bytes.size()}}};
    offset += t.bytes.size();
  }
  std::string h = header.dump();
  while ((h.size() + 8) % 8 != 0) h.push_back(' ');  // keep tensor data 8-byte aligned
  std::string prefix(8, '\0');
  uint64_t n = h.size();
  for (int i = 0; i < 8; ++i) prefix[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  AtomicFileWriter w(path);
  w.write(prefix);
  w.write(h);
  for (const auto& [name, t] : tensors)
    w.write(std::string_view(reinterpret_cast<const char*>(t.bytes.data()), t.bytes.size()));
  w.commit();
}

}  // namespace clipdex
