#include "text/xlmr_tokenizer.h"

#include <sentencepiece_processor.h>

#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/base64.h"
#include "core/error.h"
#include "core/mapped_file.h"
#include "text/utf8.h"

namespace clipdex::text {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxTextBytes = 1u << 20;

// Protocol-buffer wire format, just enough to write a SentencePiece ModelProto.
void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}
void field_bytes(std::string& out, int field, const std::string& bytes) {
  varint(out, static_cast<uint64_t>(field) << 3 | 2);
  varint(out, bytes.size());
  out += bytes;
}
void field_varint(std::string& out, int field, uint64_t v) {
  varint(out, static_cast<uint64_t>(field) << 3);
  varint(out, v);
}
void field_float(std::string& out, int field, float f) {
  varint(out, static_cast<uint64_t>(field) << 3 | 5);
  char b[4];
  std::memcpy(b, &f, 4);
  out.append(b, 4);
}

// tokenizer.json (HF fast tokenizer converted from an XLM-R SentencePiece model) -> the
// ModelProto it came from: pieces in SentencePiece order (<unk>, <s>, </s>, then the fairseq
// vocabulary from id 4 up to <mask>), and the precompiled normaliser map.
std::string model_proto_from_tokenizer_json(const std::string& path) {
  const auto j = nlohmann::json::parse(read_file(path), nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw_input("{}: not valid JSON", path);
  const auto& model = j.value("model", nlohmann::json::object());
  if (model.value("type", "") != "Unigram")
    throw_input("{}: model type '{}' is not an XLM-R Unigram tokenizer", path, model.value("type", "?"));
  const auto& vocab = model.value("vocab", nlohmann::json::array());
  if (!vocab.is_array() || vocab.size() < 6) throw_input("{}: Unigram vocabulary missing", path);
  auto piece = [&](size_t i) -> std::pair<std::string, float> {
    const auto& e = vocab[i];
    if (!e.is_array() || e.size() != 2 || !e[0].is_string() || !e[1].is_number())
      throw_input("{}: vocabulary entry {} is not [piece, score]", path, i);
    return {e[0].get<std::string>(), e[1].get<float>()};
  };
  if (piece(0).first != "<s>" || piece(1).first != "<pad>" || piece(2).first != "</s>" || piece(3).first != "<unk>" ||
      piece(vocab.size() - 1).first != "<mask>")
    throw_input("{}: vocabulary does not have XLM-R's layout (<s> <pad> </s> <unk> ... <mask>)", path);
  std::string charsmap;
  const auto& norm = j.value("normalizer", nlohmann::json::object());
  auto find_precompiled = [&](const nlohmann::json& n) {
    if (n.is_object() && n.value("type", "") == "Precompiled" && n.contains("precompiled_charsmap") &&
        n["precompiled_charsmap"].is_string()) {
      const auto raw = base64_decode(n["precompiled_charsmap"].get<std::string>());
      charsmap.assign(raw.begin(), raw.end());
    }
  };
  find_precompiled(norm);
  if (norm.is_object() && norm.contains("normalizers") && norm["normalizers"].is_array())
    for (const auto& n : norm["normalizers"]) find_precompiled(n);
  if (charsmap.empty()) throw_input("{}: no Precompiled normaliser (not converted from a SentencePiece model?)", path);

  std::string proto;
  auto add_piece = [&](const std::string& p, float score, int type) {
    std::string sp;
    field_bytes(sp, 1, p);
    field_float(sp, 2, score);
    field_varint(sp, 3, static_cast<uint64_t>(type));
    field_bytes(proto, 1, sp);
  };
  constexpr int kNormal = 1, kUnknown = 2, kControl = 3;
  add_piece("<unk>", 0, kUnknown);
  add_piece("<s>", 0, kControl);
  add_piece("</s>", 0, kControl);
  for (size_t i = 4; i + 1 < vocab.size(); ++i) {
    const auto [p, score] = piece(i);
    add_piece(p, score, kNormal);
  }
  std::string normalizer;
  field_bytes(normalizer, 1, "nmt_nfkc");
  field_bytes(normalizer, 2, charsmap);
  field_varint(normalizer, 3, 1);  // add_dummy_prefix
  field_varint(normalizer, 4, 1);  // remove_extra_whitespaces
  field_varint(normalizer, 5, 1);  // escape_whitespaces
  field_bytes(proto, 3, normalizer);
  return proto;
}

struct Special {
  std::string_view text;
  int32_t id;  // -1: <mask>, resolved per tokenizer
  bool lstrip;
};
constexpr Special kSpecials[] = {{"<s>", 0, false}, {"<pad>", 1, false}, {"</s>", 2, false},
                                 {"<unk>", 3, false}, {"<mask>", -1, true}};

}  // namespace

XlmrTokenizer::XlmrTokenizer() : sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {}
XlmrTokenizer::XlmrTokenizer(XlmrTokenizer&&) noexcept = default;
XlmrTokenizer& XlmrTokenizer::operator=(XlmrTokenizer&&) noexcept = default;
XlmrTokenizer::~XlmrTokenizer() = default;

bool XlmrTokenizer::present(const std::string& path) {
  const fs::path p(path);
  if (fs::is_directory(p)) return fs::exists(p / "sentencepiece.bpe.model") || fs::exists(p / "tokenizer.json");
  return p.filename() == "sentencepiece.bpe.model" || p.extension() == ".model" || p.filename() == "tokenizer.json";
}

XlmrTokenizer XlmrTokenizer::load(const std::string& path) {
  fs::path file(path);
  if (fs::is_directory(file))
    file = fs::exists(file / "sentencepiece.bpe.model") ? file / "sentencepiece.bpe.model" : file / "tokenizer.json";
  if (!fs::exists(file)) throw_input("'{}' holds no sentencepiece.bpe.model or tokenizer.json", path);
  XlmrTokenizer t;
  t.source_ = file.string();
  const auto status = file.extension() == ".json" ? t.sp_->LoadFromSerializedProto(model_proto_from_tokenizer_json(file.string()))
                                                  : t.sp_->Load(file.string());
  if (!status.ok()) throw_input("{}: not a SentencePiece model ({})", file.string(), status.ToString());
  if (t.sp_->GetPieceSize() < 4 || !t.sp_->IsUnknown(0) || t.sp_->PieceToId("<s>") != 1 || t.sp_->PieceToId("</s>") != 2)
    throw_input("{}: not laid out like XLM-R's model (<unk>=0, <s>=1, </s>=2)", file.string());
  t.mask_id_ = t.sp_->GetPieceSize() + 1;
  return t;
}

std::vector<int32_t> XlmrTokenizer::segment(std::string_view stretch) const {
  std::vector<int> pieces;
  const auto status = sp_->Encode(stretch, &pieces);
  if (!status.ok()) throw_input("cannot tokenize text: {}", status.ToString());
  std::vector<int32_t> ids;
  ids.reserve(pieces.size());
  for (int p : pieces) ids.push_back(p == 0 ? kUnk : p + 1);  // fairseq's offset
  return ids;
}

std::vector<int32_t> XlmrTokenizer::encode(std::string_view text) const {
  if (text.size() > kMaxTextBytes) throw_input("text of {} bytes is over the limit of {}", text.size(), kMaxTextBytes);
  if (!is_valid_utf8(text)) throw_input("text is not valid UTF-8");
  std::vector<int32_t> ids{kBos};
  size_t start = 0, pos = 0;
  while (pos < text.size()) {
    const Special* hit = nullptr;
    for (const auto& s : kSpecials)
      if (text.substr(pos, s.text.size()) == s.text) hit = &s;
    if (!hit) {
      ++pos;
      continue;
    }
    size_t end = pos;
    if (hit->lstrip)  // <mask> takes the whitespace before it
      while (end > start && std::isspace(static_cast<unsigned char>(text[end - 1]))) --end;
    const auto before = segment(text.substr(start, end - start));
    ids.insert(ids.end(), before.begin(), before.end());
    ids.push_back(hit->id < 0 ? mask_id_ : hit->id);
    pos += hit->text.size();
    start = pos;
  }
  const auto rest = segment(text.substr(start));
  ids.insert(ids.end(), rest.begin(), rest.end());
  ids.push_back(kEos);
  return ids;
}

std::vector<int32_t> XlmrTokenizer::tokenize(std::string_view text, size_t context) const {
  auto ids = encode(text);
  if (context < 2) throw_input("context length {} is too short", context);
  if (ids.size() > context) {
    ids.resize(context);
    ids.back() = kEos;
  }
  ids.resize(context, kPad);
  return ids;
}

}  // namespace clipdex::text
