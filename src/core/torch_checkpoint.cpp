#include "core/torch_checkpoint.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "core/error.h"
#include "core/pickle.h"
#include "core/zip_reader.h"

namespace clipdex {
namespace {

using pickle::Node;
using Kind = Node::Kind;

constexpr size_t kMaxRank = 16;
constexpr size_t kMaxDepth = 128;  // module nesting of a real model is < 10

struct StorageType {
  const char* name;
  DType dtype;
};
constexpr StorageType kStorageTypes[] = {
    {"FloatStorage", DType::F32}, {"HalfStorage", DType::F16}, {"BFloat16Storage", DType::BF16},
    {"DoubleStorage", DType::F64}, {"LongStorage", DType::I64}, {"IntStorage", DType::I32},
    {"ByteStorage", DType::U8},
};

const StorageType* storage_type(const std::string& qualified) {
  for (const auto& t : kStorageTypes)
    if (qualified == std::string("torch.") + t.name) return &t;
  return nullptr;
}

struct Storage {
  DType dtype;
  std::span<const uint8_t> bytes;
  int64_t numel;
};

struct TensorRef {
  size_t storage;
  int64_t offset;
  std::vector<int64_t> shape, stride;
};

// The allow-list and the interpretation of torch's rebuild calls, over one archive.
class Unpickler {
 public:
  Unpickler(const ZipReader* zip, std::string prefix, bool torchscript, const std::string& origin)
      : zip_(zip), prefix_(std::move(prefix)), torchscript_(torchscript), origin_(origin) {}

  pickle::Hooks hooks() {
    pickle::Hooks h;
    h.check_global = [this](const std::string& m, const std::string& n) { check_global(m, n); };
    h.persistent_load = [this](pickle::Arena& a, uint32_t pid) { return persistent_load(a, pid); };
    h.reduce = [this](pickle::Arena& a, uint32_t callable, uint32_t args) { return reduce(a, callable, args); };
    h.allow_object = [this](const std::string& name) { return torchscript_ && name.rfind("__torch__.", 0) == 0; };
    return h;
  }

  std::vector<Storage> storages;
  std::vector<TensorRef> tensors;
  // Extension nodes index `items_`: a storage or a tensor.
  struct Item {
    bool is_tensor;
    size_t index;
  };
  std::vector<Item> items;

 private:
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw_input("{}: {}", origin_, fmt::format(f, std::forward<Args>(args)...));
  }

  void check_global(const std::string& module, const std::string& name) {
    const std::string q = module + "." + name;
    if (q == "collections.OrderedDict" || q == "torch._utils._rebuild_tensor_v2" ||
        q == "torch._utils._rebuild_parameter" || storage_type(q))
      return;
    if (torchscript_ && module.rfind("__torch__.", 0) == 0) return;
    fail("global {} is not allowed in a checkpoint (nothing in it was run)", q);
  }

  uint32_t extension(pickle::Arena& a, bool is_tensor, size_t index) {
    items.push_back({is_tensor, index});
    Node n;
    n.kind = Kind::Extension;
    n.integer = static_cast<int64_t>(items.size() - 1);
    return a.add(std::move(n));
  }

  const Node& field(const pickle::Arena& a, const Node& tuple, size_t i, Kind k, const char* what) const {
    if (i >= tuple.items.size()) fail("{} is missing", what);
    const Node& n = a[tuple.items[i]];
    if (n.kind != k) fail("{} is a {}, expected a {}", what, pickle::kind_name(n.kind), pickle::kind_name(k));
    return n;
  }

  // ('storage', torch.<T>Storage, key, location, numel) -> the mapped record data/<key>.
  uint32_t persistent_load(pickle::Arena& a, uint32_t pid_index) {
    if (!zip_) fail("legacy (pre-1.6, non-zip) PyTorch files are not supported: re-save with a current torch.save");
    const Node& pid = a[pid_index];
    if (pid.kind != Kind::Tuple || pid.items.size() != 5) fail("persistent id is not a 5-tuple storage reference");
    if (field(a, pid, 0, Kind::String, "persistent id tag").text != "storage") fail("persistent id is not a storage");
    const std::string type = field(a, pid, 1, Kind::Global, "storage type").text;
    const std::string key = field(a, pid, 2, Kind::String, "storage key").text;
    const int64_t numel = field(a, pid, 4, Kind::Int, "storage size").integer;
    const StorageType* st = storage_type(type);
    if (!st) fail("storage type {} is not supported", type);
    if (auto it = by_key_.find(key); it != by_key_.end()) {
      if (storages[it->second].dtype != st->dtype || storages[it->second].numel != numel)
        fail("storage '{}' is referenced with two different types or sizes", key);
      return extension(a, false, it->second);
    }
    const std::string record = prefix_ + "data/" + key;
    if (!zip_->contains(record)) fail("storage '{}' has no record {}", key, record);
    const auto bytes = zip_->bytes(record);
    const uint64_t es = dtype_size(st->dtype);
    if (numel < 0 || static_cast<uint64_t>(numel) > bytes.size() / es || static_cast<uint64_t>(numel) * es != bytes.size())
      fail("storage '{}' declares {} elements of {} bytes but its record holds {} bytes", key, numel, es, bytes.size());
    storages.push_back({st->dtype, bytes, numel});
    by_key_[key] = storages.size() - 1;
    return extension(a, false, storages.size() - 1);
  }

  std::vector<int64_t> int_tuple(const pickle::Arena& a, const Node& t, const char* what) const {
    if (t.items.size() > kMaxRank) fail("{} has {} dimensions", what, t.items.size());
    std::vector<int64_t> v;
    for (uint32_t i : t.items) {
      const Node& n = a[i];
      if (n.kind != Kind::Int || n.integer < 0) fail("{} holds something other than a non-negative int", what);
      v.push_back(n.integer);
    }
    return v;
  }

  uint32_t reduce(pickle::Arena& a, uint32_t callable, uint32_t args_index) {
    const std::string fn = a[callable].text;
    const Node args = a[args_index];
    if (fn == "collections.OrderedDict") {
      if (!args.items.empty()) fail("OrderedDict built with arguments");
      Node d;
      d.kind = Kind::Dict;
      return a.add(std::move(d));
    }
    if (fn == "torch._utils._rebuild_parameter") {
      const Node& t = field(a, args, 0, Kind::Extension, "parameter data");
      if (!items[static_cast<size_t>(t.integer)].is_tensor) fail("parameter data is not a tensor");
      return args.items[0];
    }
    if (fn == "torch._utils._rebuild_tensor_v2") {
      const Node& s = field(a, args, 0, Kind::Extension, "tensor storage");
      const Item storage = items[static_cast<size_t>(s.integer)];
      if (storage.is_tensor) fail("tensor storage is a tensor");
      TensorRef t;
      t.storage = storage.index;
      t.offset = field(a, args, 1, Kind::Int, "storage offset").integer;
      t.shape = int_tuple(a, field(a, args, 2, Kind::Tuple, "tensor size"), "tensor size");
      t.stride = int_tuple(a, field(a, args, 3, Kind::Tuple, "tensor stride"), "tensor stride");
      if (t.shape.size() != t.stride.size()) fail("tensor size and stride differ in rank");
      if (t.offset < 0) fail("negative storage offset");
      tensors.push_back(std::move(t));
      return extension(a, true, tensors.size() - 1);
    }
    fail("calling {} is not allowed in a checkpoint", fn);
  }

  const ZipReader* zip_;
  std::string prefix_;
  bool torchscript_;
  const std::string& origin_;
  std::map<std::string, size_t> by_key_;
};

// numel and the largest storage index a view touches, with overflow checks.
void check_view(const TensorRef& t, const Storage& s, const std::string& name, const std::string& origin) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 16;
  int64_t numel = 1, last = t.offset;
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (t.shape[i] != 0 && numel > kMax / t.shape[i]) throw_input("{}: tensor '{}' is too large", origin, name);
    numel *= t.shape[i];
  }
  if (numel == 0) return;
  for (size_t i = 0; i < t.shape.size(); ++i) {
    if (t.stride[i] != 0 && t.shape[i] - 1 > (kMax - last) / t.stride[i])
      throw_input("{}: tensor '{}' is too large", origin, name);
    last += (t.shape[i] - 1) * t.stride[i];
  }
  if (last >= s.numel)
    throw_input("{}: tensor '{}' (shape [{}], offset {}) reads element {} of a storage of {}", origin, name,
                fmt::join(t.shape, ", "), t.offset, last, s.numel);
}

bool contiguous(const TensorRef& t) {
  int64_t expected = 1;
  for (size_t i = t.shape.size(); i-- > 0;) {
    if (t.shape[i] != 1 && t.stride[i] != expected) return false;
    expected *= t.shape[i];
  }
  return true;
}

// Copies a strided view into row-major order.
std::vector<uint8_t> gather(const TensorRef& t, const Storage& s, int64_t numel) {
  const size_t es = dtype_size(s.dtype), rank = t.shape.size();
  std::vector<uint8_t> out(static_cast<size_t>(numel) * es);
  std::vector<int64_t> index(rank, 0);
  for (int64_t n = 0; n < numel; ++n) {
    int64_t src = t.offset;
    for (size_t d = 0; d < rank; ++d) src += index[d] * t.stride[d];
    std::memcpy(out.data() + static_cast<size_t>(n) * es, s.bytes.data() + static_cast<size_t>(src) * es, es);
    for (size_t d = rank; d-- > 0;) {
      if (++index[d] < t.shape[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

// The record folder: the one holding data.pkl at the archive's top level.
std::string find_prefix(const ZipReader& zip, const std::string& origin) {
  std::string prefix;
  for (const auto& [name, r] : zip.records()) {
    const auto slash = name.find('/');
    if (slash == std::string::npos || name.compare(slash, std::string::npos, "/data.pkl") != 0) continue;
    if (!prefix.empty()) throw_input("{}: more than one data.pkl in the archive", origin);
    prefix = name.substr(0, slash + 1);
  }
  if (prefix.empty()) throw_input("{}: a ZIP archive without data.pkl is not a PyTorch checkpoint", origin);
  return prefix;
}

}  // namespace

TorchCheckpoint TorchCheckpoint::read(std::shared_ptr<MappedFile> file, const std::string& origin) {
  TorchCheckpoint c = parse(file->bytes(), origin);
  c.file = std::move(file);
  return c;
}

TorchCheckpoint TorchCheckpoint::parse(std::span<const uint8_t> bytes, const std::string& origin) {
  TorchCheckpoint c;
  pickle::Arena arena;
  uint32_t root;
  std::unique_ptr<Unpickler> u;
  if (!ZipReader::looks_like_zip(bytes)) {
    // A bare pickle (the legacy format): read it with the same allow-list, so a hostile one is
    // named as such; a harmless one still is a format we do not read.
    if (bytes.empty() || bytes[0] != 0x80) throw_input("{}: not a PyTorch checkpoint (neither ZIP nor pickle)", origin);
    u = std::make_unique<Unpickler>(nullptr, "", false, origin);
    pickle::load(bytes, arena, u->hooks(), origin);
    throw_input("{}: legacy (pre-1.6, non-zip) PyTorch files are not supported: re-save with a current torch.save",
                origin);
  }
  const ZipReader zip(bytes, origin);
  const std::string prefix = find_prefix(zip, origin);
  if (zip.contains(prefix + "byteorder")) {
    const auto order = zip.bytes(prefix + "byteorder");
    if (std::string(order.begin(), order.end()) != "little")
      throw_input("{}: big-endian checkpoints are not supported", origin);
  }
  bool torchscript = zip.contains(prefix + "constants.pkl");
  for (const auto& [name, r] : zip.records()) torchscript = torchscript || name.rfind(prefix + "code/", 0) == 0;
  c.container = torchscript ? "torchscript" : "pytorch";
  u = std::make_unique<Unpickler>(&zip, prefix, torchscript, origin);
  root = pickle::load(zip.bytes(prefix + "data.pkl"), arena, u->hooks(), origin);

  // A state dict ({name: tensor}, maybe under "state_dict") or a module object whose tensor
  // attributes, by attribute path, are the state dict. Walked with an explicit stack.
  if (arena[root].kind == Kind::Dict) {
    const auto& items = arena[root].items;
    for (size_t i = 0; i + 1 < items.size(); i += 2)
      if (arena[items[i]].kind == Kind::String && arena[items[i]].text == "state_dict" &&
          arena[items[i + 1]].kind == Kind::Dict)
        root = items[i + 1];
  } else if (arena[root].kind != Kind::Object) {
    throw_input("{}: data.pkl holds a {}, not a state dict or a module", origin, pickle::kind_name(arena[root].kind));
  }
  std::vector<std::pair<uint32_t, std::string>> todo{{root, ""}};
  std::set<uint32_t> seen;
  while (!todo.empty()) {
    auto [index, path] = todo.back();
    todo.pop_back();
    if (!seen.insert(index).second) continue;
    const Node* node = &arena[index];
    if (node->kind == Kind::Object) {
      if (node->items.empty() || arena[node->items[0]].kind != Kind::Dict) continue;  // a module without state
      node = &arena[node->items[0]];
    }
    for (size_t i = 0; i + 1 < node->items.size(); i += 2) {
      const Node& key = arena[node->items[i]];
      const uint32_t value = node->items[i + 1];
      if (key.kind != Kind::String) continue;
      const std::string name = path + key.text;
      const Node& v = arena[value];
      if (v.kind == Kind::Dict || v.kind == Kind::Object) {
        if (std::count(name.begin(), name.end(), '.') >= static_cast<long>(kMaxDepth))
          throw_input("{}: modules nested deeper than {}", origin, kMaxDepth);
        todo.emplace_back(value, name + ".");
        continue;
      }
      if (v.kind != Kind::Extension || !u->items[static_cast<size_t>(v.integer)].is_tensor) continue;
      const TensorRef& t = u->tensors[u->items[static_cast<size_t>(v.integer)].index];
      const Storage& s = u->storages[t.storage];
      check_view(t, s, name, origin);
      TensorView view;
      view.name = name;
      view.dtype = s.dtype;
      view.shape = t.shape;
      const int64_t numel = view.numel();
      const size_t es = dtype_size(s.dtype);
      if (numel == 0) {
        view.bytes = {};
      } else if (contiguous(t)) {
        view.bytes = s.bytes.subspan(static_cast<size_t>(t.offset) * es, static_cast<size_t>(numel) * es);
      } else {
        // A strided view never has more elements than its storage, unless it repeats them (stride 0).
        if (numel > s.numel) throw_input("{}: tensor '{}' repeats storage elements (stride 0)", origin, name);
        c.gathered.push_back(gather(t, s, numel));
        view.bytes = c.gathered.back();
      }
      if (!c.tensors.emplace(name, std::move(view)).second) throw_input("{}: tensor '{}' appears twice", origin, name);
    }
  }
  if (c.tensors.empty()) throw_input("{}: the checkpoint holds no tensors", origin);
  return c;
}

}  // namespace clipdex
