#include "core/tensor_file.h"

#include "core/error.h"
#include "core/torch_checkpoint.h"
#include "core/zip_reader.h"

namespace clipdex {

TensorFile TensorFile::open(const std::string& path) {
  auto file = std::make_shared<MappedFile>(path);
  TensorFile f;
  f.origin_ = path;
  const auto bytes = file->bytes();
  if (!ZipReader::looks_like_zip(bytes)) {
    try {
      SafeTensors st = SafeTensors::open(path);
      f.container_ = "safetensors";
      f.tensors_ = st.tensors();
      f.file_ = st.mapping();
      return f;
    } catch (const InputError&) {
      // Not safetensors. A bare pickle (0x80 = PROTO) is PyTorch's legacy format: the torch
      // reader says so, or names the forbidden global a hostile one uses.
      if (bytes.empty() || bytes[0] != 0x80) throw;
    }
  }
  TorchCheckpoint t = TorchCheckpoint::read(std::move(file), path);
  f.container_ = t.container;
  f.tensors_ = std::move(t.tensors);
  f.file_ = std::move(t.file);
  f.owned_ = std::make_shared<const std::vector<std::vector<uint8_t>>>(std::move(t.gathered));
  return f;
}

const TensorView& TensorFile::get(const std::string& name) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) throw_input("{}: missing tensor '{}'", origin_, name);
  return it->second;
}

void TensorFile::release(const TensorView& t) const {
  if (file_ && !t.bytes.empty() && t.bytes.data() >= file_->data() && t.bytes.data() < file_->data() + file_->size())
    file_->release(t.bytes);
}

}  // namespace clipdex
