#include "core/pickle.h"

#include <cstring>
#include <unordered_map>

#include "core/error.h"

namespace clipdex::pickle {

const char* kind_name(Node::Kind k) {
  switch (k) {
    case Node::Kind::None: return "None";
    case Node::Kind::Bool: return "bool";
    case Node::Kind::Int: return "int";
    case Node::Kind::Float: return "float";
    case Node::Kind::String: return "str";
    case Node::Kind::Bytes: return "bytes";
    case Node::Kind::Tuple: return "tuple";
    case Node::Kind::List: return "list";
    case Node::Kind::Dict: return "dict";
    case Node::Kind::Global: return "global";
    case Node::Kind::Object: return "object";
    case Node::Kind::Extension: return "tensor data";
  }
  return "?";
}

uint32_t Arena::add(Node n) {
  nodes_.push_back(std::move(n));
  return static_cast<uint32_t>(nodes_.size() - 1);
}

namespace {

using Kind = Node::Kind;

class Machine {
 public:
  Machine(std::span<const uint8_t> b, Arena& a, const Hooks& h, const std::string& origin, const Limits& l)
      : b_(b), arena_(a), hooks_(h), origin_(origin), limits_(l) {}

  uint32_t run() {
    for (;;) {
      if (pos_ >= b_.size()) fail("the stream ends without STOP");
      op_pos_ = pos_;
      const uint8_t op = b_[pos_++];
      if (op == '.') return pop();
      step(op);
    }
  }

 private:
  template <typename... Args>
  [[noreturn]] void fail(fmt::format_string<Args...> f, Args&&... args) const {
    throw_input("{}: pickle offset {}: {}", origin_, op_pos_, fmt::format(f, std::forward<Args>(args)...));
  }

  const uint8_t* take(uint64_t n) {
    if (n > b_.size() - pos_) fail("a field of {} bytes runs past the end of the stream", n);
    const uint8_t* p = b_.data() + pos_;
    pos_ += n;
    return p;
  }
  uint64_t le(int n) {
    const uint8_t* p = take(static_cast<uint64_t>(n));
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | p[i];
    return v;
  }
  std::string text(uint64_t n) {
    const uint8_t* p = take(n);
    return std::string(reinterpret_cast<const char*>(p), n);
  }
  std::string line() {
    const uint8_t* start = b_.data() + pos_;
    const void* nl = std::memchr(start, '\n', b_.size() - pos_);
    if (!nl) fail("GLOBAL without its newline");
    const size_t n = static_cast<const uint8_t*>(nl) - start;
    pos_ += n + 1;
    return std::string(reinterpret_cast<const char*>(start), n);
  }

  void push(uint32_t v) {
    if (stack_.size() >= limits_.max_stack) fail("more than {} values on the stack", limits_.max_stack);
    stack_.push_back(v);
  }
  uint32_t make(Kind k) {
    Node n;
    n.kind = k;
    return arena_.add(std::move(n));
  }
  uint32_t pop() {
    if (stack_.size() <= floor()) fail("the stack is empty");
    const uint32_t v = stack_.back();
    stack_.pop_back();
    return v;
  }
  uint32_t top() const {
    if (stack_.size() <= floor()) fail("the stack is empty");
    return stack_.back();
  }
  size_t floor() const { return marks_.empty() ? 0 : marks_.back(); }
  std::vector<uint32_t> pop_to_mark() {
    if (marks_.empty()) fail("no MARK to pop to");
    const size_t m = marks_.back();
    marks_.pop_back();
    std::vector<uint32_t> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  Node& expect(uint32_t i, Kind k, const char* op) {
    Node& n = arena_[i];
    if (n.kind != k) fail("{} on a {}, not a {}", op, kind_name(n.kind), kind_name(k));
    return n;
  }
  void memo_put(uint64_t key) {
    if (memo_.size() >= limits_.max_memo && !memo_.count(key)) fail("memo holds more than {} values", limits_.max_memo);
    memo_[key] = top();
  }
  void memo_get(uint64_t key) {
    const auto it = memo_.find(key);
    if (it == memo_.end()) fail("memo key {} was never stored", key);
    push(it->second);
  }
  void scalar_int(int64_t v) {
    Node n;
    n.kind = Kind::Int;
    n.integer = v;
    push(arena_.add(std::move(n)));
  }
  void string_node(Kind k, std::string s) {
    Node n;
    n.kind = k;
    n.text = std::move(s);
    push(arena_.add(std::move(n)));
  }
  void sequence(Kind k, std::vector<uint32_t> items) {
    Node n;
    n.kind = k;
    n.items = std::move(items);
    push(arena_.add(std::move(n)));
  }
  void global(const std::string& module, const std::string& name) {
    hooks_.check_global(module, name);
    string_node(Kind::Global, module + "." + name);
  }
  int64_t long1() {
    const uint64_t n = le(1);
    if (n > 8) fail("LONG1 of {} bytes is larger than a checkpoint needs", n);
    if (n == 0) return 0;
    uint64_t v = le(static_cast<int>(n));
    if (n < 8 && (v >> (8 * n - 1)) & 1) v |= ~0ull << (8 * n);  // sign-extend
    return static_cast<int64_t>(v);
  }

  void step(uint8_t op) {
    switch (op) {
      case 0x80: le(1); break;  // PROTO
      case 0x95: le(8); break;  // FRAME: framing is only a read-ahead hint
      case '(':
        if (marks_.size() >= limits_.max_marks) fail("more than {} nested MARKs", limits_.max_marks);
        marks_.push_back(stack_.size());
        break;
      case ')': sequence(Kind::Tuple, {}); break;
      case ']': sequence(Kind::List, {}); break;
      case '}': sequence(Kind::Dict, {}); break;
      case 'N': push(make(Kind::None)); break;
      case 0x88:
      case 0x89: {
        Node n;
        n.kind = Kind::Bool;
        n.integer = op == 0x88;
        push(arena_.add(std::move(n)));
        break;
      }
      case 'J': scalar_int(static_cast<int32_t>(static_cast<uint32_t>(le(4)))); break;
      case 'K': scalar_int(static_cast<int64_t>(le(1))); break;
      case 'M': scalar_int(static_cast<int64_t>(le(2))); break;
      case 0x8a: scalar_int(long1()); break;
      case 'G': {
        uint64_t bits = 0;
        const uint8_t* p = take(8);
        for (int i = 0; i < 8; ++i) bits = (bits << 8) | p[i];  // big-endian
        Node n;
        n.kind = Kind::Float;
        std::memcpy(&n.real, &bits, 8);
        push(arena_.add(std::move(n)));
        break;
      }
      case 'X': string_node(Kind::String, text(le(4))); break;
      case 0x8c: string_node(Kind::String, text(le(1))); break;
      case 0x8d: string_node(Kind::String, text(le(8))); break;
      case 'T': string_node(Kind::String, text(le(4))); break;
      case 'U': string_node(Kind::String, text(le(1))); break;
      case 'B': string_node(Kind::Bytes, text(le(4))); break;
      case 'C': string_node(Kind::Bytes, text(le(1))); break;
      case 0x8e: string_node(Kind::Bytes, text(le(8))); break;
      case 't': sequence(Kind::Tuple, pop_to_mark()); break;
      case 0x85:
      case 0x86:
      case 0x87: {
        std::vector<uint32_t> items(static_cast<size_t>(op - 0x84));
        for (size_t i = items.size(); i-- > 0;) items[i] = pop();
        sequence(Kind::Tuple, std::move(items));
        break;
      }
      case 'l': sequence(Kind::List, pop_to_mark()); break;
      case 'd': {
        auto items = pop_to_mark();
        if (items.size() % 2) fail("DICT with an odd number of items");
        sequence(Kind::Dict, std::move(items));
        break;
      }
      case 'a': {
        const uint32_t v = pop();
        expect(top(), Kind::List, "APPEND").items.push_back(v);
        break;
      }
      case 'e': {
        auto items = pop_to_mark();
        auto& list = expect(top(), Kind::List, "APPENDS").items;
        list.insert(list.end(), items.begin(), items.end());
        break;
      }
      case 's': {
        const uint32_t v = pop(), k = pop();
        auto& dict = expect(top(), Kind::Dict, "SETITEM").items;
        dict.push_back(k), dict.push_back(v);
        break;
      }
      case 'u': {
        auto items = pop_to_mark();
        if (items.size() % 2) fail("SETITEMS with an odd number of items");
        auto& dict = expect(top(), Kind::Dict, "SETITEMS").items;
        dict.insert(dict.end(), items.begin(), items.end());
        break;
      }
      case 'q': memo_put(le(1)); break;
      case 'r': memo_put(le(4)); break;
      case 0x94: memo_put(memo_.size()); break;
      case 'h': memo_get(le(1)); break;
      case 'j': memo_get(le(4)); break;
      case 'c': {
        const std::string module = line();
        global(module, line());
        break;
      }
      case 0x93: {
        const uint32_t name = pop(), module = pop();
        global(expect(module, Kind::String, "STACK_GLOBAL").text, expect(name, Kind::String, "STACK_GLOBAL").text);
        break;
      }
      case 'Q': push(hooks_.persistent_load(arena_, pop())); break;
      case 'R': {
        const uint32_t args = pop(), callable = pop();
        expect(callable, Kind::Global, "REDUCE");
        expect(args, Kind::Tuple, "REDUCE");
        push(hooks_.reduce(arena_, callable, args));
        break;
      }
      case 0x81: {
        const uint32_t args = pop(), cls = pop();
        const std::string name = expect(cls, Kind::Global, "NEWOBJ").text;
        if (!hooks_.allow_object(name)) fail("instances of {} are not allowed in a checkpoint", name);
        string_node(Kind::Object, name);
        (void)args;  // module classes take no constructor arguments worth keeping
        break;
      }
      case 'b': {
        const uint32_t state = pop();
        Node& target = arena_[top()];
        if (target.kind == Kind::Object) {
          if (!target.items.empty()) fail("BUILD on an object built before");
          target.items.push_back(state);
        } else if (target.kind != Kind::Dict) {  // an OrderedDict's state is only its _metadata
          fail("BUILD on a {}", kind_name(target.kind));
        }
        break;
      }
      case '0': pop(); break;
      case '1': pop_to_mark(); break;
      case '2': push(top()); break;
      default: fail("opcode 0x{:02x} is not allowed in a checkpoint", op);
    }
  }

  std::span<const uint8_t> b_;
  Arena& arena_;
  const Hooks& hooks_;
  const std::string& origin_;
  const Limits& limits_;
  size_t pos_ = 0, op_pos_ = 0;
  std::vector<uint32_t> stack_;
  std::vector<size_t> marks_;
  std::unordered_map<uint64_t, uint32_t> memo_;
};

}  // namespace

uint32_t load(std::span<const uint8_t> bytes, Arena& arena, const Hooks& hooks, const std::string& origin,
              const Limits& limits) {
  return Machine(bytes, arena, hooks, origin, limits).run();
}

}  // namespace clipdex::pickle
