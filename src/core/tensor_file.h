#pragma once
// The named tensors of one weights file, whatever container it is: safetensors, a PyTorch zip
// checkpoint (`*.bin`) or a TorchScript archive (`*.pt`), told apart by their first bytes. The
// views stay valid as long as this object (or a copy) lives.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/safetensors.h"

namespace clipdex {

class TensorFile {
 public:
  TensorFile() = default;
  // Maps and validates the file. Throws IoError / InputError naming it.
  static TensorFile open(const std::string& path);

  const std::string& container() const { return container_; }  // "safetensors", "pytorch", "torchscript"
  const std::string& origin() const { return origin_; }
  bool contains(const std::string& name) const { return tensors_.count(name) != 0; }
  const TensorView& get(const std::string& name) const;  // throws InputError naming the tensor
  const std::map<std::string, TensorView>& tensors() const { return tensors_; }
  // Drops a tensor's pages from the resident set once it has been copied (mapped data only).
  void release(const TensorView& t) const;

 private:
  std::string container_, origin_;
  std::map<std::string, TensorView> tensors_;
  std::shared_ptr<MappedFile> file_;
  std::shared_ptr<const std::vector<std::vector<uint8_t>>> owned_;  // gathered non-contiguous tensors
};

}  // namespace clipdex
