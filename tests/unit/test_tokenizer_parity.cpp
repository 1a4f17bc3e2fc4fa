// Tokenizer parity with Hugging Face `tokenizers`: for each fixture configuration (Qwen3, Llama 3,
// gpt-oss/o200k, GPT-2 with added-token flags, every Split behavior with NFD), our ids equal the ids
// `tokenizers` produced for every line of the golden corpus, decoding equals its decoding, streaming
// decoding equals full decoding, and a sweep over every code point of planes 0-3 and 14 hashes the same.
// The expected values were written by scripts/tokenizer/make_fixtures.py; no Python runs here.
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "model/fnv1a.h"
#include "model/tokenizer/tokenizer.h"
#include "model/tokenizer/utf8.h"
#include "test_util.h"

using namespace tachyon;
using nlohmann::json;

namespace {

const char* const kConfigs[] = {"qwen3", "llama3", "gpt_oss", "gpt2_added", "splits_nfd"};

Tokenizer load(const std::string& config) {
  return Tokenizer::from_json(test::read_file(test::fixture("tokenizer/" + config + "/tokenizer.json")));
}

json load_json(const std::string& relative) { return json::parse(test::read_file(test::fixture(relative))); }

std::vector<int32_t> as_ids(const json& j) { return j.get<std::vector<int32_t>>(); }

std::string stream_decode(const Tokenizer& tok, const std::vector<int32_t>& ids, bool skip_special) {
  IncrementalDecoder dec(tok, skip_special);
  std::string all;
  for (int32_t id : ids) {
    const std::string piece = dec.push(id);
    CHECK(utf8::find_invalid(piece) == utf8::kValid);  // never a split character
    all += piece;
  }
  return all + dec.finish();
}

// The sweep text of scripts/tokenizer/sweep.py, built the same way.
std::vector<char32_t> sweep_code_points() {
  std::vector<char32_t> cps;
  for (char32_t plane = 0; plane < 17; ++plane) {
    const char32_t lo = plane << 16, hi = lo + 0xFFFF;
    auto add = [&](char32_t a, char32_t b) {
      for (char32_t c = a; c <= b; ++c)
        if (c < 0xD800 || c > 0xDFFF) cps.push_back(c);
    };
    if (plane <= 3 || plane == 14) {
      add(lo, hi);
    } else {
      add(lo, lo + 255);
      add(hi - 255, hi);
    }
  }
  return cps;
}

std::string sweep_chunk_text(const std::vector<char32_t>& cps, size_t begin, size_t end) {
  std::string text;
  for (size_t k = begin; k < end; ++k) {
    std::string c;
    utf8::append(c, cps[k]);
    text += "x" + c + c + " " + c + "1" + c + "\n";
  }
  return text;
}

std::string hex(uint64_t h) { return fmt::format("{:016x}", h); }

std::string ids_hash(const std::vector<int32_t>& ids) { return hex(fnv1a64_le32(ids)); }

}  // namespace

TEST_CASE("tokenizer parity: golden corpus ids, decodes and streaming decodes equal HF tokenizers'") {
  const json corpus = load_json("tokenizer/corpus.json");
  REQUIRE(corpus.size() > 250);
  for (const std::string config : kConfigs) {
    CAPTURE(config);
    const Tokenizer tok = load(config);
    const json expected = load_json("tokenizer/" + config + "/expected.json");
    REQUIRE(expected["encode"].size() == corpus.size());
    CHECK(tok.vocab_size() == expected["vocab_size_with_added"].get<int32_t>());

    size_t matched = 0;
    for (size_t i = 0; i < corpus.size(); ++i) {
      const std::string line = corpus[i].get<std::string>();
      CAPTURE(i);
      CAPTURE(line);
      const auto want = as_ids(expected["encode"][i]);
      const auto got = tok.encode(line);
      CHECK(got == want);
      matched += got == want;
      if (i < expected["encode_no_special"].size()) CHECK(tok.encode(line, false) == as_ids(expected["encode_no_special"][i]));

      // decode(encode(x)) is x, except where `tokenizers` itself gives something else (normalization,
      // removed delimiters), and then it is what `tokenizers` gives.
      const std::string key = std::to_string(i);
      const std::string decoded = expected["decode"].contains(key) ? expected["decode"][key].get<std::string>() : line;
      CHECK(tok.decode(want) == decoded);
      const std::string decoded_skip = expected["decode_skip_special"].contains(key)
                                           ? expected["decode_skip_special"][key].get<std::string>()
                                           : decoded;
      CHECK(tok.decode(want, true) == decoded_skip);
      CHECK(stream_decode(tok, want, false) == decoded);
      CHECK(stream_decode(tok, want, true) == decoded_skip);
    }
    MESSAGE(config << ": " << matched << "/" << corpus.size() << " corpus lines with identical ids");

    for (const auto& r : expected["random_decode"]) {
      const auto ids = as_ids(r["ids"]);
      CAPTURE(r["ids"].dump());
      CHECK(tok.decode(ids) == r["text"].get<std::string>());
      CHECK(tok.decode(ids, true) == r["text_skip_special"].get<std::string>());
      CHECK(stream_decode(tok, ids, false) == r["text"].get<std::string>());
    }
  }
}

TEST_CASE("tokenizer parity: every code point of planes 0-3 and 14 in context, hashed per chunk") {
  const json sweep = load_json("tokenizer/sweep.json");
  const size_t chunk = sweep["chunk_code_points"].get<size_t>();
  const auto cps = sweep_code_points();
  for (const std::string config : kConfigs) {
    CAPTURE(config);
    const Tokenizer tok = load(config);
    const json& chunks = sweep["configs"][config];
    REQUIRE(chunks.size() == (cps.size() + chunk - 1) / chunk);
    size_t matched = 0;
    for (size_t k = 0; k < chunks.size(); ++k) {
      const size_t begin = k * chunk, end = std::min(cps.size(), begin + chunk);
      CAPTURE(fmt::format("chunk {} (U+{:04X}..U+{:04X})", k, static_cast<uint32_t>(cps[begin]),
                          static_cast<uint32_t>(cps[end - 1])));
      const std::string text = sweep_chunk_text(cps, begin, end);
      const auto ids = tok.encode(text, false);
      CHECK(ids.size() == chunks[k]["ids"].get<size_t>());
      CHECK(ids_hash(ids) == chunks[k]["ids_fnv"].get<std::string>());
      matched += ids_hash(ids) == chunks[k]["ids_fnv"].get<std::string>();
      const std::string decoded = tok.decode(ids);
      const std::string want = chunks[k]["decoded_fnv"].get<std::string>();
      if (want == "same") CHECK(decoded == text);
      else CHECK(hex(fnv1a64(decoded)) == want);
    }
    MESSAGE(config << ": " << matched << "/" << chunks.size() << " sweep chunks with identical ids");
  }
}
