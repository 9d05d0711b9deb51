#pragma once
// Reader for PyTorch's own weight files, without PyTorch and without running anything:
//   - torch.save zip archives (`pytorch_model.bin`, `open_clip_pytorch_model.bin`): records under
//     one folder (named after the file by newer PyTorch; read from the archive, never assumed),
//     `data.pkl` (the pickled state dict), `data/<key>` (raw storages, stored uncompressed and
//     mapped, not copied), `byteorder`;
//   - TorchScript archives (OpenAI's `ViT-B-32.pt`): `data.pkl` holds the module objects; their
//     tensor attributes, walked by attribute path, become state_dict names
//     (`visual.transformer.resblocks.0.attn.in_proj_weight`).
// The pickle is read by core/pickle with an allow-list of globals: collections.OrderedDict,
// torch._utils._rebuild_tensor_v2 / _rebuild_parameter, the torch.*Storage types, and (in
// TorchScript archives) __torch__.* classes as inert objects. Anything else is refused by name.
// Tensors honour storage offset, size and stride; a view that is not contiguous is gathered into
// memory this object owns.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/safetensors.h"

namespace clipdex {

struct TorchCheckpoint {
  std::string container;                    // "pytorch" or "torchscript"
  std::map<std::string, TensorView> tensors;  // views into `file` or into `gathered`
  std::shared_ptr<MappedFile> file;
  std::vector<std::vector<uint8_t>> gathered;  // non-contiguous tensors, copied

  // Reads `file` (kept alive by the result). Throws InputError naming `origin` and the problem.
  static TorchCheckpoint read(std::shared_ptr<MappedFile> file, const std::string& origin);
  // The same over bytes the caller keeps alive (fuzz target, tests).
  static TorchCheckpoint parse(std::span<const uint8_t> bytes, const std::string& origin);
};

}  // namespace clipdex
