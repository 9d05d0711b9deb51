#pragma once
// Reader and writer for the safetensors format (https://huggingface.co/docs/safetensors):
// an 8-byte little-endian header length, a JSON header mapping names to
// {dtype, shape, data_offsets}, then the raw tensor bytes. Every header field is validated
// before any byte is touched, so hostile files fail with an error instead of reading out of bounds.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/mapped_file.h"

namespace clipdex {

enum class DType { F32, F16, BF16, I32, I64, U8, F64 };

size_t dtype_size(DType t);
const char* dtype_name(DType t);
std::optional<DType> parse_dtype(const std::string& name);

struct TensorView {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::span<const uint8_t> bytes;

  int64_t numel() const;
  // Copies the values to fp32 (any dtype; F64 and I64 are rounded).
  std::vector<float> to_f32() const;
  std::vector<int32_t> to_i32() const;  // I32 / I64 only
};

class SafeTensors {
 public:
  // Maps and validates a file. Throws IoError / InputError naming the file.
  static SafeTensors open(const std::string& path);
  // Validates a buffer the caller keeps alive (used by the fuzz target and tests).
  static SafeTensors parse(std::span<const uint8_t> bytes, const std::string& origin = "<memory>");

  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  const TensorView& get(const std::string& name) const;  // throws InputError naming the tensor
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& origin() const { return origin_; }
  std::span<const uint8_t> raw_bytes() const { return raw_; }  // the whole file
  const std::shared_ptr<MappedFile>& mapping() const { return file_; }  // null for parse()
  // Drops a tensor's pages from the resident set once it has been copied (file-backed only).
  void release(const TensorView& t) const {
    if (file_) file_->release(t.bytes);
  }

 private:
  std::shared_ptr<MappedFile> file_;  // keeps mapped bytes alive for the views
  std::string origin_;
  std::span<const uint8_t> raw_;
  std::map<std::string, TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// A tensor to write: the caller's bytes must match dtype x shape.
struct TensorData {
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};

TensorData make_f32_tensor(std::vector<int64_t> shape, std::span<const float> values);

// Writes atomically (temporary file, fsync, rename).
void write_safetensors(const std::string& path, const std::map<std::string, TensorData>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace clipdex
