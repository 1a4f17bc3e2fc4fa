// The tokenizer's API around parity: lookups, special tokens, streaming decode, refusals of unsupported
// tokenizer.json files with the component named, invalid UTF-8, BPE merge order, thread safety, and the
// `tachyon tokenize` / `tachyon detokenize` commands.
#include <doctest/doctest.h>

#include <fstream>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "model/checkpoint.h"
#include "model/error.h"
#include "model/tokenizer/bpe_model.h"
#include "model/tokenizer/tokenizer.h"
#include "test_util.h"

using namespace tachyon;
using nlohmann::json;

namespace {

std::string fixture_json(const std::string& config) {
  return test::read_file(test::fixture("tokenizer/" + config + "/tokenizer.json"));
}

Tokenizer load(const std::string& config) { return Tokenizer::from_json(fixture_json(config)); }

// Loads `config` with `edit` applied to its JSON; returns the error message ("" when it loads).
template <class Edit>
std::string load_error(const std::string& config, Edit edit) {
  json j = json::parse(fixture_json(config));
  edit(j);
  try {
    Tokenizer::from_json(j.dump());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("tokenizer: lookups, special tokens and BOS of the fixture families") {
  const Tokenizer qwen = load("qwen3");
  const auto im_end = qwen.token_to_id("<|im_end|>");
  REQUIRE(im_end.has_value());
  CHECK(qwen.id_to_token(*im_end) == "<|im_end|>");
  CHECK(qwen.is_special(*im_end));
  const auto think = qwen.token_to_id("<think>");
  REQUIRE(think.has_value());
  CHECK_FALSE(qwen.is_special(*think));  // added, but not special (as in Qwen3)
  CHECK(qwen.encode("<|im_end|>") == std::vector<int32_t>{*im_end});
  CHECK(qwen.decode(qwen.encode("a<think>b<|im_end|>"), true) == "a<think>b");
  CHECK(qwen.id_to_token(0).has_value());
  CHECK_FALSE(qwen.id_to_token(-1).has_value());
  CHECK_FALSE(qwen.id_to_token(qwen.vocab_size()).has_value());
  CHECK(qwen.token_to_id("Ċ").has_value());  // model tokens in their byte-level spelling
  CHECK_FALSE(qwen.token_to_id("no such token").has_value());
  // Unknown ids are skipped by decode, as tokenizers does.
  CHECK(qwen.decode(std::vector<int32_t>{-5, qwen.vocab_size() + 10}) == "");

  const Tokenizer llama = load("llama3");
  const auto bos = llama.token_to_id("<|begin_of_text|>");
  REQUIRE(bos.has_value());
  const auto with = llama.encode("Hello"), without = llama.encode("Hello", false);
  REQUIRE(with.size() == without.size() + 1);
  CHECK(with.front() == *bos);
  CHECK(llama.encode("") == std::vector<int32_t>{*bos});
  CHECK(llama.encode("", false).empty());
}

TEST_CASE("tokenizer: copies and moves share one immutable tokenizer") {
  Tokenizer a = load("gpt_oss");
  const auto ids = a.encode("Hello, world!");
  Tokenizer b = a;
  Tokenizer c = std::move(a);
  CHECK(b.encode("Hello, world!") == ids);
  CHECK(c.encode("Hello, world!") == ids);
}

TEST_CASE("tokenizer: invalid UTF-8 to encode is a tachyon::Error naming the offset") {
  const Tokenizer tok = load("qwen3");
  CHECK_THROWS_WITH_AS(tok.encode("abc\xFF"), doctest::Contains("not valid UTF-8: ill-formed sequence at byte offset 3"),
                       Error);
  CHECK_THROWS_AS(tok.encode("\xED\xA0\x80"), Error);  // an encoded surrogate
  CHECK_THROWS_AS(tok.encode("\xC3"), Error);          // truncated
  CHECK(tok.encode("still fine afterwards").size() > 0);
}

TEST_CASE("tokenizer: unsupported tokenizer.json files are refused, naming the component") {
  CHECK(load_error("qwen3", [](json&) {}).empty());
  CHECK(contains(load_error("qwen3", [](json& j) { j["model"]["type"] = "WordPiece"; }), "unsupported model \"WordPiece\""));
  CHECK(contains(load_error("qwen3", [](json& j) { j["model"] = {{"type", "Unigram"}, {"vocab", json::array()}}; }),
                 "unsupported model \"Unigram\""));
  CHECK(contains(load_error("qwen3", [](json& j) { j["normalizer"] = {{"type", "Lowercase"}}; }),
                 "unsupported normalizer \"Lowercase\""));
  CHECK(contains(load_error("qwen3",
                            [](json& j) {
                              j["normalizer"] = {{"type", "Sequence"},
                                                 {"normalizers", {{{"type", "NFC"}}, {{"type", "NFKC"}}}}};
                            }),
                 "unsupported normalizer \"NFKC\" at normalizer.normalizers[1]"));
  CHECK(contains(load_error("qwen3", [](json& j) { j["pre_tokenizer"]["pretokenizers"][0] = {{"type", "Whitespace"}}; }),
                 "unsupported pre-tokenizer \"Whitespace\" at pre_tokenizer.pretokenizers[0]"));
  CHECK(contains(load_error("qwen3",
                            [](json& j) {
                              j["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "▁"}};
                            }),
                 "unsupported pre-tokenizer \"Metaspace\""));
  CHECK(contains(load_error("qwen3", [](json& j) { j["pre_tokenizer"] = j["pre_tokenizer"]["pretokenizers"][0]; }),
                 "no ByteLevel step"));
  CHECK(contains(load_error("qwen3", [](json& j) { j["decoder"] = {{"type", "WordPiece"}}; }),
                 "unsupported decoder \"WordPiece\""));
  CHECK(contains(load_error("qwen3", [](json& j) { j["decoder"] = nullptr; }), "no decoder"));
  CHECK(contains(load_error("qwen3", [](json& j) { j["post_processor"] = {{"type", "Mystery"}}; }),
                 "unsupported post-processor \"Mystery\""));
  CHECK(contains(load_error("qwen3", [](json& j) { j["model"]["byte_fallback"] = true; }), "byte_fallback"));
  CHECK(contains(load_error("qwen3", [](json& j) { j["model"]["dropout"] = 0.1; }), "dropout"));
  CHECK(contains(load_error("qwen3", [](json& j) { j["model"]["merges"][0] = json::array({"zzz", "qqq"}); }),
                 "model.merges[0]"));
  CHECK(contains(load_error("qwen3",
                            [](json& j) {
                              j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "[a-z&&[^b]]";
                            }),
                 "pre_tokenizer.pretokenizers[0].pattern.Regex"));
  CHECK_THROWS_WITH_AS(Tokenizer::from_json("{not json"), doctest::Contains("not valid JSON"), Error);
}

TEST_CASE("tokenizer: added-token ids are assigned as tokenizers 0.23 does, not read from the file") {
  // The file says 10 and 5; tokenizers numbers new added tokens after the model vocabulary (3 entries)
  // and keeps the model's id for a content that is already a token.
  const json j = {{"version", "1.0"},
                  {"added_tokens",
                   {{{"id", 10}, {"content", "<a>"}, {"special", true}, {"normalized", false}},
                    {{"id", 5}, {"content", "<b>"}, {"special", true}, {"normalized", false}},
                    {{"id", 1}, {"content", "b"}, {"special", false}, {"normalized", false}}}},
                  {"normalizer", nullptr},
                  {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
                  {"post_processor", nullptr},
                  {"decoder", {{"type", "ByteLevel"}}},
                  {"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"c", 7}}}, {"merges", json::array()}}}};
  const Tokenizer tok = Tokenizer::from_json(j.dump());
  // These are the ids tokenizers 0.23.3 gives for this file.
  CHECK(tok.encode("<a><b>abc") == std::vector<int32_t>{3, 4, 0, 1, 7});
  CHECK(tok.vocab_size() == 8);
}

TEST_CASE("tokenizer: streaming decode never splits a character and ends with the full decode") {
  const Tokenizer tok = load("qwen3");
  // Single-byte tokens of U+1F680, in the byte-level spelling F0 9F 9A 80 -> ð Ł ļ Ģ.
  std::vector<int32_t> bytes;
  for (const char* t : {"ð", "Ł", "ļ", "Ģ"}) {
    const auto id = tok.token_to_id(t);
    REQUIRE(id.has_value());
    bytes.push_back(*id);
  }
  IncrementalDecoder dec(tok);
  CHECK(dec.push(bytes[0]) == "");
  CHECK(dec.push(bytes[1]) == "");
  CHECK(dec.push(bytes[2]) == "");
  CHECK(dec.push(bytes[3]) == "🚀");
  CHECK(dec.finish() == "");
  // A character that never completes becomes U+FFFD, as in a full decode.
  CHECK(dec.push(bytes[0]) == "");
  CHECK(dec.push(*tok.token_to_id("a")) == "\xEF\xBF\xBD" "a");
  CHECK(dec.push(bytes[0]) == "");
  CHECK(dec.finish() == "\xEF\xBF\xBD");
  std::vector<int32_t> ids = bytes;
  ids.pop_back();
  CHECK(tok.decode(ids) == "\xEF\xBF\xBD");
  // skip_special_tokens drops specials in the stream too.
  IncrementalDecoder skip(tok, true);
  CHECK(skip.push(*tok.token_to_id("<|im_end|>")) == "");
  CHECK(skip.push(*tok.token_to_id("a")) == "a");
}

TEST_CASE("tokenizer: BPE merges the same with the array scan and with the priority queue") {
  const json j = json::parse(fixture_json("llama3"));
  const BpeModel model = BpeModel::from_json(j["model"]);
  std::mt19937 rng(5);
  const std::string alphabet = "aabbcdeeefghiilmnnooprsstttu  \n";
  for (int trial = 0; trial < 300; ++trial) {
    std::string word;
    const int len = 2 + static_cast<int>(rng() % 300);
    for (int k = 0; k < len; ++k) word += alphabet[rng() % alphabet.size()];
    if (trial % 10 == 0) word = std::string(len, 'a');
    std::vector<int32_t> scan, heap;
    for (unsigned char b : word) {
      const std::string spelled = b == ' ' ? "Ġ" : b == '\n' ? "Ċ" : std::string(1, static_cast<char>(b));
      scan.push_back(*model.token_to_id(spelled));
    }
    heap = scan;
    model.merge(scan, false);
    model.merge(heap, true);
    CAPTURE(word);
    CHECK(scan == heap);
  }
}

TEST_CASE("tokenizer: concurrent encodes from many threads give the serial results") {
  const Tokenizer tok = load("gpt_oss");
  const json corpus = json::parse(test::read_file(test::fixture("tokenizer/corpus.json")));
  std::vector<std::vector<int32_t>> serial;
  for (const auto& line : corpus) serial.push_back(tok.encode(line.get<std::string>()));
  std::vector<int> mismatches(8, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      const Tokenizer mine = tok;  // copies share the tables; caches are per thread
      for (int round = 0; round < 3; ++round)
        for (size_t i = (t * 37) % corpus.size(), n = 0; n < corpus.size(); ++n, i = (i + 1) % corpus.size())
          mismatches[t] += mine.encode(corpus[i].get<std::string>()) != serial[i];
    });
  }
  for (auto& th : threads) th.join();
  for (int m : mismatches) CHECK(m == 0);
}

TEST_CASE("tokenizer: a very long word and a long run of one character encode and decode") {
  const Tokenizer tok = load("qwen3");
  const std::string run(20000, 'a');
  CHECK(tok.decode(tok.encode(run)) == run);
  std::string mixed;
  for (int i = 0; i < 5000; ++i) mixed += "ab";
  CHECK(tok.decode(tok.encode(mixed)) == mixed);
  const std::string spaces(100000, ' ');
  CHECK(tok.decode(tok.encode(spaces)) == spaces);
}

TEST_CASE("tokenizer commands: tokenize, detokenize, per-line errors, --bench, refusals") {
  test::TempDir tmp("tokenizer-cli");
  const std::string qwen = test::fixture("tokenizer/qwen3/tokenizer.json");
  const Tokenizer tok = Tokenizer::from_json(test::read_file(qwen));
  std::string out;
  REQUIRE(test::run_tachyon("tokenize --tokenizer " + qwen + " --text 'Hello, 世界!'", &out) == 0);
  const auto ids = json::parse(out).get<std::vector<int32_t>>();
  CHECK(ids == tok.encode("Hello, 世界!"));

  REQUIRE(test::run_tachyon("detokenize --tokenizer " + qwen + " --ids '" + json(ids).dump() + "'", &out) == 0);
  CHECK(out == "Hello, 世界!\n");
  REQUIRE(test::run_tachyon("detokenize --tokenizer " + qwen + " --stream --json --ids '" + json(ids).dump() + "'", &out) == 0);
  CHECK(json::parse(out) == "Hello, 世界!");

  {
    std::ofstream f(tmp.file("lines.txt"), std::ios::binary);
    f << "first line\n" << "bad \xFF byte\n" << "third <|im_end|>\n";
  }
  const int rc = test::run_tachyon("tokenize --tokenizer " + qwen + " --lines --file " + tmp.file("lines.txt"), &out);
  CHECK(rc == 1);  // one line failed
  std::istringstream lines(out);
  std::string l1, l2, l3;
  std::getline(lines, l1);
  std::getline(lines, l2);
  std::getline(lines, l3);
  CHECK(json::parse(l1).get<std::vector<int32_t>>() == tok.encode("first line"));
  CHECK(contains(json::parse(l2)["error"].get<std::string>(), "line 2: text to encode is not valid UTF-8"));
  CHECK(json::parse(l3).get<std::vector<int32_t>>() == tok.encode("third <|im_end|>"));

  {
    std::ofstream f(tmp.file("bench.txt"), std::ios::binary);
    for (int i = 0; i < 2000; ++i) f << "def f" << i << "(x):\n    return x * " << i << "  # 数字\n";
  }
  REQUIRE(test::run_tachyon("tokenize --tokenizer " + qwen + " --bench " + tmp.file("bench.txt") + " --repeat 2", &out) == 0);
  const json bench = json::parse(out);
  CHECK(bench["mb_per_s"].get<double>() > 0);
  CHECK(bench["tokens"].get<size_t>() == tok.encode(test::read_file(tmp.file("bench.txt"))).size());

  // A checkpoint that stores the tokenizer serves as --tokenizer too; one that stores none is refused.
  {
    CheckpointWriter w(tmp.file("with.h5"), "target", "{}", test::read_file(qwen));
    w.close();
    CheckpointWriter none(tmp.file("without.h5"), "target", "{}", std::nullopt);
    none.close();
  }
  REQUIRE(test::run_tachyon("tokenize --tokenizer " + tmp.file("with.h5") + " --text 'Hello, 世界!'", &out) == 0);
  CHECK(json::parse(out).get<std::vector<int32_t>>() == ids);
  CHECK(test::run_tachyon("tokenize --tokenizer " + tmp.file("without.h5") + " --text hi", &out) != 0);
  CHECK(contains(out, "stores no tokenizer"));

  {
    json j = json::parse(test::read_file(qwen));
    j["model"]["type"] = "WordPiece";
    std::ofstream(tmp.file("wordpiece.json")) << j.dump();
  }
  CHECK(test::run_tachyon("tokenize --tokenizer " + tmp.file("wordpiece.json") + " --text hi", &out) != 0);
  CHECK(contains(out, "unsupported model \"WordPiece\""));
  REQUIRE(test::run_tachyon("tokenize --help", &out) == 0);
  CHECK(contains(out, "--tokenizer"));
  REQUIRE(test::run_tachyon("detokenize --help", &out) == 0);
  CHECK(contains(out, "--skip-special"));
}
