#pragma once
// A restricted reader for Python pickle streams (protocols 2-4, as torch.save and TorchScript
// write them) that never calls anything: GLOBAL only names a class or function, and only names
// the caller's hooks accept; REDUCE / NEWOBJ / BUILD become data the caller interprets. The
// reader is a loop over opcodes (no recursion), every length is checked against the bytes left
// before anything is allocated, and stack, mark stack and memo are bounded.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

namespace clipdex::pickle {

// One value. Values live in an Arena and refer to each other by index, so a hostile stream
// that puts a container inside itself makes a graph, never an ownership cycle.
struct Node {
  enum class Kind { None, Bool, Int, Float, String, Bytes, Tuple, List, Dict, Global, Object, Extension };
  Kind kind = Kind::None;
  int64_t integer = 0;          // Bool, Int; Extension: the index in the caller's own table
  double real = 0;              // Float
  std::string text;             // String, Bytes; Global and Object: "module.name"
  std::vector<uint32_t> items;  // Tuple, List; Dict: key0, value0, key1, ...; Object: [state] once built
};

const char* kind_name(Node::Kind k);

class Arena {
 public:
  uint32_t add(Node n);
  const Node& operator[](uint32_t i) const { return nodes_.at(i); }
  Node& operator[](uint32_t i) { return nodes_.at(i); }
  size_t size() const { return nodes_.size(); }

 private:
  std::vector<Node> nodes_;
};

// What the caller allows and how it interprets calls. Each hook throws InputError to refuse.
struct Hooks {
  // GLOBAL / STACK_GLOBAL: refuse any name that the stream may not use.
  std::function<void(const std::string& module, const std::string& name)> check_global;
  // BINPERSID: the node that stands for a persistent id (e.g. a tensor storage).
  std::function<uint32_t(Arena&, uint32_t pid)> persistent_load;
  // REDUCE: `callable` is a Global node the checker allowed; returns the result node.
  std::function<uint32_t(Arena&, uint32_t callable, uint32_t args)> reduce;
  // NEWOBJ: whether instances of this class may be made (as inert Object nodes).
  std::function<bool(const std::string& qualified_name)> allow_object;
};

struct Limits {
  size_t max_stack = 1u << 22;
  size_t max_marks = 1u << 16;
  size_t max_memo = 1u << 24;
};

// Runs the pickle program in `bytes` and returns the index of the value it produced.
// Throws InputError naming `origin` and the byte offset for anything malformed or refused.
uint32_t load(std::span<const uint8_t> bytes, Arena& arena, const Hooks& hooks, const std::string& origin,
              const Limits& limits = {});

}  // namespace clipdex::pickle
