// Byte-level BPE model (see bpe_model.h).
#include "model/tokenizer/bpe_model.h"

#include <algorithm>
#include <limits>
#include <queue>

#include <nlohmann/json.hpp>

#include "model/error.h"
#include "model/tokenizer/byte_level.h"
#include "model/tokenizer/utf8.h"

namespace tachyon {
namespace {

constexpr uint32_t kNoRank = std::numeric_limits<uint32_t>::max();
// Words up to this many symbols merge by rescanning an array (cache-friendly, no allocation); longer
// ones use a priority queue so that a pathological word (a long run of one character) stays O(n log n).
constexpr size_t kSmallWord = 96;

std::optional<std::string> optional_string(const nlohmann::json& model, const char* key) {
  if (!model.contains(key) || model[key].is_null()) return std::nullopt;
  TACHYON_REQUIRE(model[key].is_string(), "tokenizer.json: model.{} must be a string or null", key);
  return model[key].get<std::string>();
}

bool optional_bool(const nlohmann::json& model, const char* key) {
  if (!model.contains(key) || model[key].is_null()) return false;
  TACHYON_REQUIRE(model[key].is_boolean(), "tokenizer.json: model.{} must be a boolean", key);
  return model[key].get<bool>();
}

}  // namespace

BpeModel BpeModel::from_json(const nlohmann::json& model) {
  TACHYON_REQUIRE(model.is_object(), "tokenizer.json: \"model\" is missing or not an object");
  const std::string type = model.contains("type") && model["type"].is_string() ? model["type"].get<std::string>() : "";
  TACHYON_REQUIRE(type == "BPE", "tokenizer.json: unsupported model \"{}\" (only byte-level \"BPE\" is supported)",
                  type.empty() ? "(no type)" : type);
  BpeModel m;
  if (model.contains("dropout") && !model["dropout"].is_null()) {
    TACHYON_REQUIRE(model["dropout"].is_number() && model["dropout"].get<double>() == 0.0,
                    "tokenizer.json: model.dropout is {}; BPE dropout (random merges) is not supported",
                    model["dropout"].dump());
  }
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const auto v = optional_string(model, key);
    TACHYON_REQUIRE(!v || v->empty(), "tokenizer.json: model.{} (\"{}\") is not supported by byte-level BPE", key, *v);
  }
  TACHYON_REQUIRE(!optional_bool(model, "byte_fallback"),
                  "tokenizer.json: model.byte_fallback is true; byte fallback (SentencePiece-style BPE) is not "
                  "supported, only byte-level BPE");
  m.ignore_merges_ = optional_bool(model, "ignore_merges");
  m.fuse_unk_ = optional_bool(model, "fuse_unk");
  m.unk_token_ = optional_string(model, "unk_token").value_or("");

  TACHYON_REQUIRE(model.contains("vocab") && model["vocab"].is_object(), "tokenizer.json: model.vocab is missing");
  const auto& vocab = model["vocab"];
  int32_t max_id = -1;
  for (const auto& [token, id] : vocab.items()) {
    TACHYON_REQUIRE(id.is_number_integer() && id.get<int64_t>() >= 0 && id.get<int64_t>() < (int64_t{1} << 31),
                    "tokenizer.json: model.vocab[\"{}\"] is not a valid id", token);
    max_id = std::max(max_id, id.get<int32_t>());
  }
  m.vocab_entries_ = vocab.size();
  m.id_to_token_.assign(static_cast<size_t>(max_id + 1), std::string());
  m.token_ids_.reset(vocab.size());
  m.bytes_to_id_.reset(vocab.size());
  for (const auto& [token, id_json] : vocab.items()) {
    const auto id = id_json.get<int32_t>();
    utf8::require_valid(token, "a model.vocab token");
    TACHYON_REQUIRE(!token.empty(), "tokenizer.json: model.vocab has an empty token");
    m.id_to_token_[id] = token;
    uint32_t n;
    const uint64_t h = hash_bytes(token);
    if (!m.token_ids_.find(token, h, &n)) m.token_ids_.insert(token, h, &id, 1);
    if (auto bytes = byte_level::decode_token(token)) {
      const uint64_t hb = hash_bytes(*bytes);
      if (!m.bytes_to_id_.find(*bytes, hb, &n)) m.bytes_to_id_.insert(*bytes, hb, &id, 1);
    }
  }
  for (int b = 0; b < 256; ++b) {
    const char c = static_cast<char>(b);
    uint32_t n;
    const int32_t* id = m.bytes_to_id_.find(std::string_view(&c, 1), hash_bytes(std::string_view(&c, 1)), &n);
    m.byte_ids_[b] = id ? *id : -1;
  }

  TACHYON_REQUIRE(model.contains("merges") && model["merges"].is_array(), "tokenizer.json: model.merges is missing");
  const auto& merges = model["merges"];
  m.merges_.reserve(merges.size());
  uint32_t rank = 0;
  for (size_t k = 0; k < merges.size(); ++k) {
    const auto& entry = merges[k];
    std::string a, b;
    if (entry.is_string()) {  // legacy "a b" form
      const std::string line = entry.get<std::string>();
      if (line.rfind("#version", 0) == 0) continue;  // a header line, as in merges.txt
      const size_t space = line.find(' ');
      TACHYON_REQUIRE(space != std::string::npos && line.find(' ', space + 1) == std::string::npos,
                      "tokenizer.json: model.merges[{}] (\"{}\") is not two tokens separated by one space", k, line);
      a = line.substr(0, space);
      b = line.substr(space + 1);
    } else {
      TACHYON_REQUIRE(entry.is_array() && entry.size() == 2 && entry[0].is_string() && entry[1].is_string(),
                      "tokenizer.json: model.merges[{}] is neither \"a b\" nor [\"a\", \"b\"]", k);
      a = entry[0].get<std::string>();
      b = entry[1].get<std::string>();
    }
    const auto ia = m.token_to_id(a), ib = m.token_to_id(b), iab = m.token_to_id(a + b);
    TACHYON_REQUIRE(ia && ib && iab, "tokenizer.json: model.merges[{}] ({} + {}) uses a token missing from the vocab: {}",
                    k, a, b, !ia ? a : !ib ? b : a + b);
    m.merges_.insert(*ia, *ib, {rank++, *iab});
  }
  return m;
}

std::optional<int32_t> BpeModel::token_to_id(std::string_view token) const {
  uint32_t n;
  const int32_t* id = token_ids_.find(token, hash_bytes(token), &n);
  return id ? std::optional<int32_t>(*id) : std::nullopt;
}

void BpeModel::encode_word(std::string_view word, std::vector<int32_t>& out, WordTable& cache) const {
  if (word.size() == 1 && byte_ids_[static_cast<unsigned char>(word[0])] >= 0) {
    out.push_back(byte_ids_[static_cast<unsigned char>(word[0])]);
    return;
  }
  const uint64_t h = hash_bytes(word);
  uint32_t n;
  if (const int32_t* ids = cache.find(word, h, &n)) {
    for (uint32_t k = 0; k < n; ++k) out.push_back(ids[k]);
    return;
  }
  const size_t first = out.size();
  encode_uncached(word, out);
  if (word.size() < kMaxCachedWordBytes) {
    if (cache.full()) cache.reset(std::min(kCacheCapacity, cache.capacity() * 2));
    cache.insert(word, h, out.data() + first, static_cast<uint32_t>(out.size() - first));
  }
}

void BpeModel::encode_uncached(std::string_view word, std::vector<int32_t>& out) const {
  uint32_t n;
  if (ignore_merges_) {  // a word that is a token of its own is taken whole, before any merge
    if (const int32_t* id = bytes_to_id_.find(word, hash_bytes(word), &n)) {
      out.push_back(*id);
      return;
    }
  }
  thread_local std::vector<int32_t> symbols;
  symbols.clear();
  bool pending_unk = false;  // a fused unknown run is open
  for (unsigned char b : word) {
    const int32_t id = byte_ids_[b];
    if (id >= 0) {
      symbols.push_back(id);
      pending_unk = false;
      continue;
    }
    if (unk_token_.empty()) continue;  // `tokenizers` drops characters it has no token for
    if (pending_unk && fuse_unk_) continue;
    const auto unk = token_to_id(unk_token_);
    TACHYON_REQUIRE(unk.has_value(), "tokenizer.json: model.unk_token \"{}\" is not in the vocab", unk_token_);
    symbols.push_back(*unk);
    pending_unk = true;
  }
  merge(symbols, symbols.size() > kSmallWord);
  out.insert(out.end(), symbols.begin(), symbols.end());
}

void BpeModel::merge(std::vector<int32_t>& symbols, bool use_heap) const {
  if (symbols.size() < 2) return;
  if (use_heap) merge_heap(symbols);
  else merge_small(symbols);
}

// Rescans the pair ranks for the lowest (leftmost on ties), merges it, and updates its two neighbours.
void BpeModel::merge_small(std::vector<int32_t>& s) const {
  size_t n = s.size();
  thread_local std::vector<uint32_t> rank_storage;
  thread_local std::vector<int32_t> merged_storage;
  if (rank_storage.size() < n) rank_storage.resize(n), merged_storage.resize(n);
  uint32_t* rank = rank_storage.data();
  int32_t* merged = merged_storage.data();
  auto look = [&](size_t i) {
    const MergeTable::Value* v = merges_.find(s[i], s[i + 1]);
    rank[i] = v ? v->rank : kNoRank;
    merged[i] = v ? v->id : -1;
  };
  for (size_t i = 0; i + 1 < n; ++i) look(i);
  while (n > 1) {
    size_t best = 0;
    uint32_t best_rank = rank[0];
    for (size_t i = 1; i + 1 < n; ++i)
      if (rank[i] < best_rank) best_rank = rank[i], best = i;
    if (best_rank == kNoRank) break;
    s[best] = merged[best];
    // Remove symbol best+1 and pair best+1 (which started at the removed symbol).
    std::copy(s.begin() + best + 2, s.begin() + n, s.begin() + best + 1);
    if (best + 2 < n - 1) {
      std::copy(rank + best + 2, rank + n - 1, rank + best + 1);
      std::copy(merged + best + 2, merged + n - 1, merged + best + 1);
    }
    --n;
    if (best + 1 < n) look(best);
    if (best > 0) look(best - 1);
  }
  s.resize(n);
}

// The algorithm of `tokenizers`' Word::merge_all: a min-queue of (rank, position) over a linked list of
// symbols; entries whose pair has changed since they were queued are skipped when popped.
void BpeModel::merge_heap(std::vector<int32_t>& s) const {
  struct Sym {
    int32_t id;
    int32_t prev, next;
    bool alive;
  };
  struct Entry {
    uint32_t rank;
    uint32_t pos;
    int32_t new_id;
    bool operator>(const Entry& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  const auto n = static_cast<int32_t>(s.size());
  std::vector<Sym> syms(n);
  for (int32_t i = 0; i < n; ++i) syms[i] = Sym{s[i], i - 1, i + 1 < n ? i + 1 : -1, true};
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> queue;
  for (int32_t i = 0; i + 1 < n; ++i)
    if (const auto* v = merges_.find(syms[i].id, syms[i + 1].id)) queue.push({v->rank, static_cast<uint32_t>(i), v->id});
  while (!queue.empty()) {
    const Entry top = queue.top();
    queue.pop();
    Sym& left = syms[top.pos];
    if (!left.alive || left.next < 0) continue;
    Sym& right = syms[left.next];
    const auto* v = merges_.find(left.id, right.id);
    if (!v || v->id != top.new_id) continue;  // stale entry
    left.id = top.new_id;
    right.alive = false;
    left.next = right.next;
    if (left.next >= 0) syms[left.next].prev = static_cast<int32_t>(top.pos);
    if (left.prev >= 0)
      if (const auto* p = merges_.find(syms[left.prev].id, left.id))
        queue.push({p->rank, static_cast<uint32_t>(left.prev), p->id});
    if (left.next >= 0)
      if (const auto* q = merges_.find(left.id, syms[left.next].id)) queue.push({q->rank, top.pos, q->id});
  }
  s.clear();
  for (int32_t i = 0; i >= 0 && i < n; i = syms[i].next) s.push_back(syms[i].id);
}

}  // namespace tachyon
