// `tachyon generate` on one rank: results in input order, one line per request, and a clear error
// line for each bad request while the good ones around it still run.
#include <doctest/doctest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "model/safetensors.h"
#include "model/tokenizer/tokenizer.h"
#include "test_util.h"

using namespace tachyon;
using nlohmann::json;

namespace {
using test::read_jsonl;
std::vector<int32_t> fixture_ints(const std::string& name, const char* tensor) {
  SafetensorsFile f(test::fixture("parity/" + name + "/expected.safetensors"));
  const StTensor& t = f.tensors().at(tensor);
  const auto* p = reinterpret_cast<const int32_t*>(t.data);
  return {p, p + t.numel()};
}
}  // namespace

TEST_CASE("generate: greedy output equals transformers', bad lines get error lines, order is kept") {
  test::TempDir tmp("generate-cli");
  std::string out;
  REQUIRE(test::run_tachyon("convert --from " + test::fixture("parity/gpt_oss") + " --to " + tmp.file("m.h5"), &out) == 0);
  const auto prompt = fixture_ints("gpt_oss", "prompt_ids");
  const auto expected = fixture_ints("gpt_oss", "generated_ids");
  std::ofstream p(tmp.file("prompts.jsonl"));
  p << json{{"id", "good-1"}, {"input_ids", prompt}, {"max_tokens", 8}}.dump() << "\n";
  p << "{this is not json\n";
  p << json{{"id", "no-prompt"}, {"max_tokens", 3}}.dump() << "\n";
  p << json{{"id", "bad-type"}, {"input_ids", {1, 2}}, {"max_tokens", "ten"}}.dump() << "\n";
  p << json{{"id", "negative"}, {"input_ids", {1, 2}}, {"max_tokens", -4}}.dump() << "\n";
  p << "\n";  // blank lines are skipped
  p << json{{"id", "vocab"}, {"input_ids", {1, 416}}}.dump() << "\n";
  p << json{{"id", "too-long"}, {"input_ids", std::vector<int>(60, 3)}, {"max_tokens", 10}}.dump() << "\n";
  p << json{{"id", "text"}, {"prompt", "hello"}}.dump() << "\n";
  p << json{{"id", 7}, {"input_ids", {5, 6, 7}}, {"max_tokens", 5}, {"temperature", 0.7}, {"seed", 1}}.dump() << "\n";
  p << json{{"id", "good-2"}, {"input_ids", prompt}, {"max_tokens", 8}, {"stop_token_ids", {expected[3]}}}.dump() << "\n";
  p.close();
  REQUIRE_MESSAGE(test::run_tachyon("generate --model " + tmp.file("m.h5") + " --prompts " + tmp.file("prompts.jsonl") +
                                    " --out " + tmp.file("out.jsonl") + " --max-batch 3 --max-model-len 64", &out) == 0, out);
  const auto lines = read_jsonl(tmp.file("out.jsonl"));
  REQUIRE(lines.size() == 10);
  CHECK(lines[0]["id"] == "good-1");
  CHECK(lines[0]["token_ids"].get<std::vector<int32_t>>() == expected);
  CHECK(lines[0]["finish_reason"] == "length");
  CHECK(lines[0]["usage"]["prompt_tokens"] == prompt.size());
  CHECK(lines[0]["usage"]["completion_tokens"] == 8);
  CHECK(lines[0]["metrics"]["accept_len"] == 1.0);
  auto error_has = [&](size_t i, const json& id, const std::string& text) {
    CHECK(lines[i]["id"] == id);
    REQUIRE(lines[i].contains("error"));
    const std::string e = lines[i]["error"];
    CHECK_MESSAGE(e.find(text) != std::string::npos, e);
  };
  error_has(1, 2, "prompts.jsonl:2: not valid JSON");
  error_has(2, "no-prompt", "prompts.jsonl:3: field 'prompt': missing");
  error_has(3, "bad-type", "field 'max_tokens': expected an integer");
  error_has(4, "negative", "field 'max_tokens': must be at least 1");
  error_has(5, "vocab", "prompts.jsonl:7: field 'input_ids': token id 416");
  error_has(6, "too-long", "exceed the context of 64");
  error_has(7, "text", "no tokenizer");
  CHECK(lines[8]["id"] == 7);
  CHECK(lines[8]["token_ids"].size() == 5);
  CHECK(lines[9]["id"] == "good-2");
  // A stop token ends the request with it as the last token.
  const std::vector<int32_t> until_stop(expected.begin(), expected.begin() + 4);
  CHECK(lines[9]["token_ids"].get<std::vector<int32_t>>() == until_stop);
  CHECK(lines[9]["finish_reason"] == "stop");
}

TEST_CASE("generate: a prompt gives the same result alone and among 8 concurrent sequences") {
  test::TempDir tmp("generate-batch");
  std::string out;
  REQUIRE(test::run_tachyon("convert --from " + test::fixture("parity/qwen3_moe") + " --to " + tmp.file("m.h5"), &out) == 0);
  std::ofstream p(tmp.file("prompts.jsonl"));
  for (int i = 0; i < 12; ++i) {
    std::vector<int> ids;
    for (int k = 0; k < 3 + (i * 7) % 11; ++k) ids.push_back((i * 31 + k * 17) % 400);
    json r{{"id", i}, {"input_ids", ids}, {"max_tokens", 4 + i % 5}};
    if (i % 2) r["temperature"] = 0.9, r["top_k"] = 50, r["top_p"] = 0.95;
    p << r.dump() << "\n";
  }
  p.close();
  const std::string base = "generate --model " + tmp.file("m.h5") + " --prompts " + tmp.file("prompts.jsonl") + " --seed 11 --reproducible";
  REQUIRE(test::run_tachyon(base + " --max-batch 1 --out " + tmp.file("alone.jsonl"), &out) == 0);
  REQUIRE(test::run_tachyon(base + " --max-batch 8 --out " + tmp.file("batch.jsonl"), &out) == 0);
  REQUIRE(test::run_tachyon(base + " --max-batch 8 --max-step-tokens 5 --out " + tmp.file("chunked.jsonl"), &out) == 0);
  const auto alone = read_jsonl(tmp.file("alone.jsonl")), batch = read_jsonl(tmp.file("batch.jsonl")),
             chunked = read_jsonl(tmp.file("chunked.jsonl"));
  REQUIRE(alone.size() == 12);
  REQUIRE(batch.size() == 12);
  REQUIRE(chunked.size() == 12);
  for (size_t i = 0; i < 12; ++i) {
    CHECK(alone[i]["id"] == i);
    CHECK(alone[i]["token_ids"] == batch[i]["token_ids"]);
    CHECK(alone[i]["token_ids"] == chunked[i]["token_ids"]);
  }
  // With --reproducible the files are equal byte for byte.
  CHECK(test::read_file(tmp.file("alone.jsonl")) == test::read_file(tmp.file("batch.jsonl")));
  CHECK(test::read_file(tmp.file("alone.jsonl")) == test::read_file(tmp.file("chunked.jsonl")));
}

TEST_CASE("generate: text prompts, text output, stop strings and invalid UTF-8") {
  test::TempDir tmp("generate-text");
  std::string out;
  // A random model whose vocabulary covers the Qwen3-style test tokenizer (2009 ids).
  nlohmann::json cfg = json::parse(test::read_file(test::fixture("models/random_qwen3_moe.json")));
  cfg["vocab_size"] = 2048;
  std::ofstream(tmp.file("config.json")) << cfg.dump();
  const std::string tok = test::fixture("tokenizer/qwen3/tokenizer.json");
  REQUIRE(test::run_tachyon("convert --random-config " + tmp.file("config.json") + " --seed 4 --tokenizer " + tok + " --to " +
                            tmp.file("m.h5"), &out) == 0);
  const Tokenizer tokenizer = Tokenizer::from_json(test::read_file(tok));
  {
    std::ofstream p(tmp.file("p.jsonl"));
    p << json{{"id", "a"}, {"prompt", "def fibonacci(n):\n    \"\"\"Return the n-th number.\"\"\""}, {"max_tokens", 24}}.dump() << "\n";
    p << "{\"id\": \"bad-utf8\", \"prompt\": \"caf\xff\"}\n";
  }
  const std::string base = "generate --model " + tmp.file("m.h5") + " --prompts " + tmp.file("p.jsonl");
  REQUIRE_MESSAGE(test::run_tachyon(base + " --out " + tmp.file("o1.jsonl"), &out) == 0, out);
  auto lines = read_jsonl(tmp.file("o1.jsonl"));
  REQUIRE(lines.size() == 2);
  const auto ids = lines[0]["token_ids"].get<std::vector<int32_t>>();
  REQUIRE(ids.size() == 24);
  CHECK(lines[0]["usage"]["prompt_tokens"] == tokenizer.encode("def fibonacci(n):\n    \"\"\"Return the n-th number.\"\"\"").size());
  const std::string text = lines[0]["text"];
  CHECK(text == tokenizer.decode(ids, /*skip_special_tokens=*/true));
  REQUIRE(lines[1].contains("error"));
  CHECK(lines[1]["id"] == "bad-utf8");
  CHECK(lines[1]["error"].get<std::string>().find("invalid UTF-8 at byte") != std::string::npos);

  // Stop on a piece of that text: the output ends right before its first occurrence.
  REQUIRE(text.size() > 8);
  const std::string stop = text.substr(text.size() / 2, 3);
  {
    std::ofstream p(tmp.file("p2.jsonl"));
    p << json{{"id", "a"}, {"prompt", "def fibonacci(n):\n    \"\"\"Return the n-th number.\"\"\""}, {"max_tokens", 24},
              {"stop", {stop, "a string that never appears"}}}.dump() << "\n";
  }
  REQUIRE(test::run_tachyon("generate --model " + tmp.file("m.h5") + " --prompts " + tmp.file("p2.jsonl") + " --out " +
                            tmp.file("o2.jsonl"), &out) == 0);
  lines = read_jsonl(tmp.file("o2.jsonl"));
  REQUIRE(lines.size() == 1);
  CHECK(lines[0]["finish_reason"] == "stop");
  CHECK(lines[0]["stop_reason"] == stop);
  CHECK(lines[0]["text"] == text.substr(0, text.find(stop)));
  CHECK(lines[0]["token_ids"].size() <= ids.size());
}
