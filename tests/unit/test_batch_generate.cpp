// Offline batch generation at scale (`tachyon generate` as a batch job): the OpenAI batch format in
// and out, chat rendering per model family, plain-text and multi-file inputs, one clear error line per
// bad request, files that fail fast, determinism whatever the batch size or rank count, 10,000 prompts
// in bounded memory, and SIGKILL + --resume giving the uninterrupted run's bytes. The Slurm test is
// tests/slurm/slurm_job_test.sh.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "model/tokenizer/tokenizer.h"
#include "runtime/chat_template.h"
#include "runtime/request.h"
#include "runtime/openai_batch.h"
#include "runtime/progress.h"
#include "test_util.h"

using namespace tachyon;
using nlohmann::json;

namespace {

using test::lines_of;
using test::read_jsonl;
size_t count_lines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

// A random model of `family` whose vocabulary covers that family's test tokenizer, storing it.
std::string model_with_tokenizer(const test::TempDir& tmp, const std::string& family) {
  const bool qwen = family == "qwen3";
  json cfg = json::parse(test::read_file(test::fixture(qwen ? "models/random_qwen3_moe.json" : "models/random_gpt_oss.json")));
  cfg["vocab_size"] = qwen ? 2048 : 2304;
  const std::string config = tmp.file(family + ".json"), model = tmp.file(family + ".h5");
  std::ofstream(config) << cfg.dump();
  std::string out;
  REQUIRE_MESSAGE(test::run_tachyon("convert --random-config " + config + " --seed 4 --tokenizer " +
                                    test::fixture("tokenizer/" + family + "/tokenizer.json") + " --to " + model, &out) == 0, out);
  return model;
}

Tokenizer tokenizer_of(const std::string& family) {
  return Tokenizer::from_json(test::read_file(test::fixture("tokenizer/" + family + "/tokenizer.json")));
}

json batch_line(const std::string& id, const std::string& url, json body) {
  return {{"custom_id", id}, {"method", "POST"}, {"url", url}, {"body", std::move(body)}};
}

}  // namespace

TEST_CASE("chat rendering: ChatML for Qwen3, harmony for gpt-oss, an error for unknown families") {
  CHECK(chat_format_for("qwen3_moe") == ChatFormat::ChatMl);
  CHECK(chat_format_for("qwen3") == ChatFormat::ChatMl);
  CHECK(chat_format_for("gpt_oss") == ChatFormat::Harmony);
  CHECK(chat_format_for("mimo_v2") == ChatFormat::None);
  const auto messages = parse_chat_messages(json::parse(
      R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "there"}]},
          {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "2+2?"}])"));
  REQUIRE(messages.size() == 4);
  CHECK(messages[1].content == "Hi there");
  ChatOptions o;
  CHECK(render_chat(ChatFormat::ChatMl, messages, o) ==
        "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi there<|im_end|>\n"
        "<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n");
  o.enable_thinking = false;
  CHECK(render_chat(ChatFormat::ChatMl, {messages[3]}, o) ==
        "<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
  const std::string harmony = render_chat(ChatFormat::Harmony, messages, ChatOptions{});
  CHECK(harmony ==
        "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06\n\n"
        "Reasoning: medium\n\n# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>"
        "<|start|>developer<|message|># Instructions\n\nBe brief.<|end|>"
        "<|start|>user<|message|>Hi there<|end|>"
        "<|start|>assistant<|channel|>final<|message|>Hello.<|end|>"
        "<|start|>user<|message|>2+2?<|end|>"
        "<|start|>assistant");
  // The special tokens are single ids of each family's tokenizer (not spelled out in pieces).
  const Tokenizer qwen = tokenizer_of("qwen3"), oss = tokenizer_of("gpt_oss");
  const auto q = qwen.encode(render_chat(ChatFormat::ChatMl, messages, ChatOptions{}), false);
  CHECK(std::count(q.begin(), q.end(), *qwen.token_to_id("<|im_start|>")) == 5);
  CHECK(std::count(q.begin(), q.end(), *qwen.token_to_id("<|im_end|>")) == 4);
  const auto g = oss.encode(harmony, false);
  CHECK(std::count(g.begin(), g.end(), *oss.token_to_id("<|start|>")) == 6);
  CHECK(std::count(g.begin(), g.end(), *oss.token_to_id("<|message|>")) == 5);
  CHECK(std::count(g.begin(), g.end(), *oss.token_to_id("<|end|>")) == 5);
  CHECK(std::count(g.begin(), g.end(), *oss.token_to_id("<|channel|>")) == 1);
  for (const char* t : {"<|return|>", "<|call|>"}) CHECK(oss.token_to_id(t).has_value());
  CHECK(chat_stop_tokens(ChatFormat::Harmony) == std::vector<std::string>{"<|return|>", "<|call|>"});
  CHECK(chat_stop_tokens(ChatFormat::ChatMl) == std::vector<std::string>{"<|im_end|>"});
  // Errors name the field.
  auto error_of = [](const std::string& body, ChatFormat f) {
    auto r = parse_openai_line(batch_line("x", "/v1/chat/completions", json::parse(body)).dump(), 0, "f:1", {}, f);
    REQUIRE(std::holds_alternative<RequestError>(r));
    return std::get<RequestError>(r).message;
  };
  CHECK(error_of(R"({"messages": [{"role": "user", "content": "hi"}]})", ChatFormat::None).find("no known chat format") != std::string::npos);
  CHECK(error_of(R"({"messages": [{"role": "tool", "content": "x"}]})", ChatFormat::ChatMl).find("messages[0].role") != std::string::npos);
  CHECK(error_of(R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", ChatFormat::ChatMl).find("messages[0].content[0]") != std::string::npos);
  CHECK(error_of(R"({"messages": []})", ChatFormat::ChatMl).find("'messages': is empty") != std::string::npos);
  CHECK(error_of(R"({"messages": [{"role": "user", "content": "x"}], "logprobs": true})", ChatFormat::ChatMl).find("'logprobs': is not supported") != std::string::npos);

  // A harmony reply splits into the analysis channel (reasoning) and the final channel (content).
  const auto reply = oss.encode("<|channel|>analysis<|message|>User wants a sum.<|end|><|start|>assistant<|channel|>final"
                                "<|message|>Four.<|return|>", false);
  ChatReply r = split_harmony_reply(oss, reply);
  CHECK(r.content == std::optional<std::string>("Four."));
  CHECK(r.reasoning == "User wants a sum.");
  const auto body = std::find(reply.begin(), reply.end(), *oss.token_to_id("<|message|>")) + 3;
  const std::vector<int32_t> cut(reply.begin(), body);  // max_tokens hit while reasoning
  r = split_harmony_reply(oss, cut);
  CHECK(!r.content.has_value());
  CHECK(!r.reasoning.empty());
  CHECK(split_harmony_reply(oss, oss.encode("plain words", false)).content == std::optional<std::string>("plain words"));
}

TEST_CASE("progress: the bar and the log line show done/total, rates, acceptance and ETA") {
  ProgressSnapshot s;
  s.done = 450;
  s.done_this_run = 400;
  s.total = 1000;
  s.completion_tokens = 8000;
  s.prompt_tokens = 1000;
  s.running = 8;
  s.acceptance_length = 3.25;
  s.elapsed_s = 10;
  s.speculative = true;
  const std::string bar = ProgressReporter::bar_text(s, 20);
  CHECK_MESSAGE(bar.find(" 45%|#########           | 450/1000 [00:10<00:14, 40.0 req/s, out 800 tok/s, acc 3.25, 8 running]") != std::string::npos, bar);
  const std::string log = ProgressReporter::log_text(s);
  CHECK_MESSAGE(log.find("450/1000 requests (45.0%)") != std::string::npos, log);
  CHECK_MESSAGE(log.find("acceptance length 3.25") != std::string::npos, log);
  CHECK_MESSAGE(log.find("ETA 00:14") != std::string::npos, log);
  s.total.reset();
  CHECK(ProgressReporter::bar_text(s, 20).find("450 done [00:10") != std::string::npos);

  // On a terminal (a pseudo-terminal from util-linux's `script`) `tachyon generate` draws the bar.
  if (test::run("command -v script > /dev/null") != 0) return;
  test::TempDir tmp("progress-tty");
  std::string out;
  REQUIRE(test::run_tachyon("convert --random-config " + test::fixture("models/random_qwen3_moe.json") + " --seed 3 --to " +
                            tmp.file("m.h5"), &out) == 0);
  {
    std::ofstream p(tmp.file("p.jsonl"));
    for (int i = 0; i < 30; ++i) p << json{{"id", i}, {"input_ids", {i + 1, 7}}, {"max_tokens", 3}}.dump() << "\n";
  }
  const std::string cmd = std::string(TACHYON_EXE) + " generate --model " + tmp.file("m.h5") + " --prompts " +
                          tmp.file("p.jsonl") + " --out " + tmp.file("o.jsonl");
  REQUIRE(test::run("script -qec '" + cmd + "' /dev/null > " + tmp.file("tty.txt") + " 2>&1") == 0);
  const std::string tty = test::read_file(tmp.file("tty.txt"));
  CHECK_MESSAGE(tty.find("generate 100%|########################| 30/30 [") != std::string::npos, tty);
  CHECK(tty.find("progress: ") == std::string::npos);  // no log lines on a terminal
}

TEST_CASE("OpenAI batch round trip: completions and chat for Qwen3 and gpt-oss, errors, metrics and Prometheus") {
  test::TempDir tmp("batch-openai");
  for (const std::string family : {"qwen3", "gpt_oss"}) {
    CAPTURE(family);
    const std::string model = model_with_tokenizer(tmp, family);
    const Tokenizer tok = tokenizer_of(family);
    const json chat_messages = json::parse(R"([{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Name a prime."}])");
    {
      std::ofstream p(tmp.file("batch.jsonl"));
      p << batch_line("cmpl-text", "/v1/completions", {{"model", "my-model"}, {"prompt", "def add(a, b):"}, {"max_tokens", 6}}).dump() << "\n";
      p << batch_line("cmpl-ids", "/v1/completions", {{"prompt", {11, 12, 13, 14}}, {"max_tokens", 4}, {"temperature", 0.9}, {"seed", 7}}).dump() << "\n";
      p << batch_line("cmpl-n", "/v1/completions", {{"prompt", "Once upon a time"}, {"max_tokens", 8}, {"temperature", 1.0}, {"top_p", 0.95}, {"n", 3}, {"seed", 3}}).dump() << "\n";
      p << batch_line("chat", "/v1/chat/completions", {{"messages", chat_messages}, {"max_completion_tokens", 5}}).dump() << "\n";
      p << batch_line("embed", "/v1/embeddings", {{"input", "x"}}).dump() << "\n";
      p << json{{"custom_id", "no-body"}, {"method", "POST"}, {"url", "/v1/completions"}}.dump() << "\n";
    }
    std::string out;
    const std::string o = tmp.file("out-" + family + ".jsonl"), metrics = tmp.file("m.json"), prom = tmp.file("p.prom");
    REQUIRE_MESSAGE(test::run_tachyon("generate --model " + model + " --prompts " + tmp.file("batch.jsonl") + " --out " + o +
                                      " --metrics-json " + metrics + " --prometheus-file " + prom, &out) == 0, out);
    CHECK(out.find("(openai format, 6 requests)") != std::string::npos);
    const auto lines = read_jsonl(o);
    REQUIRE(lines.size() == 6);
    const std::vector<std::string> ids = {"cmpl-text", "cmpl-ids", "cmpl-n", "chat", "embed", "no-body"};
    std::set<std::string> line_ids;
    for (size_t i = 0; i < lines.size(); ++i) {
      const json& l = lines[i];
      CHECK(l["custom_id"] == ids[i]);  // input order
      REQUIRE(l["id"].is_string());
      CHECK(l["id"].get<std::string>().rfind("batch_req_", 0) == 0);
      line_ids.insert(l["id"]);
      REQUIRE(l["response"].is_object());
      CHECK(l["response"]["request_id"].is_string());
      CHECK(l.contains("error"));
    }
    CHECK(line_ids.size() == 6);
    for (size_t i = 0; i < 4; ++i) {
      const json& l = lines[i];
      CHECK(l["response"]["status_code"] == 200);
      CHECK(l["error"].is_null());
      const json& b = l["response"]["body"];
      const bool chat = i == 3;
      CHECK(b["object"] == (chat ? "chat.completion" : "text_completion"));
      CHECK(b["id"].get<std::string>().rfind(chat ? "chatcmpl-" : "cmpl-", 0) == 0);
      CHECK(b["created"].is_number_integer());
      CHECK(b["model"] == (i == 0 ? "my-model" : family));  // the request's, else the checkpoint's name
      const json& u = b["usage"];
      size_t completion = 0;
      for (size_t c = 0; c < b["choices"].size(); ++c) {
        const json& ch = b["choices"][c];
        CHECK(ch["index"] == c);
        CHECK((ch["finish_reason"] == "stop" || ch["finish_reason"] == "length"));
        CHECK(ch.contains("logprobs"));
        if (chat) {
          CHECK(ch["message"]["role"] == "assistant");
          CHECK((ch["message"]["content"].is_string() || ch["message"]["content"].is_null()));  // harmony: null before the final channel
        } else {
          CHECK(ch["text"].is_string());
        }
      }
      completion = u["completion_tokens"];
      CHECK(u["total_tokens"] == u["prompt_tokens"].get<size_t>() + completion);
    }
    const json& b0 = lines[0]["response"]["body"];
    CHECK(b0["usage"]["prompt_tokens"] == tok.encode("def add(a, b):").size());
    CHECK(b0["usage"]["completion_tokens"] == 6);
    CHECK(lines[1]["response"]["body"]["usage"]["prompt_tokens"] == 4);
    // n = 3: three choices with distinct seeds, so different samples.
    const json& choices = lines[2]["response"]["body"]["choices"];
    REQUIRE(choices.size() == 3);
    CHECK((choices[0]["text"] != choices[1]["text"] || choices[1]["text"] != choices[2]["text"]));
    // The chat prompt is the family's rendering, tokenized as is.
    const ChatFormat f = family == "qwen3" ? ChatFormat::ChatMl : ChatFormat::Harmony;
    CHECK(lines[3]["response"]["body"]["usage"]["prompt_tokens"] ==
          tok.encode(render_chat(f, parse_chat_messages(chat_messages), ChatOptions{}), false).size());
    // Errors: 400 with an error body, and the message in "error" too.
    for (size_t i : {4, 5}) {
      CHECK(lines[i]["response"]["status_code"] == 400);
      CHECK(lines[i]["response"]["body"]["error"]["message"] == lines[i]["error"]["message"]);
    }
    const std::string e4 = lines[4]["error"]["message"], e5 = lines[5]["error"]["message"];
    CHECK_MESSAGE(e4.find("batch.jsonl:5: field 'url': '/v1/embeddings' is not supported; the supported endpoints are "
                          "/v1/completions and /v1/chat/completions") != std::string::npos, e4);
    CHECK_MESSAGE(e5.find("batch.jsonl:6: field 'body': missing") != std::string::npos, e5);

    // Metrics: aggregate and one record per finished request; Prometheus counters agree with the output.
    const json m = json::parse(test::read_file(metrics));
    const json& a = m["aggregate"];
    CHECK(a["requests"] == 6);
    CHECK(a["finished"] == 4);
    CHECK(a["errors"] == 2);
    size_t generated = 0;
    for (size_t i = 0; i < 4; ++i) generated += lines[i]["response"]["body"]["usage"]["completion_tokens"].get<size_t>();
    CHECK(a["completion_tokens"] == generated);
    for (const char* k : {"ttft_ms", "tpot_ms", "e2e_ms", "queue_ms"}) CHECK(a[k]["p50"].is_number());
    CHECK(a["acceptance_length"] == 1.0);
    CHECK(a["peak_rss_mib"].get<double>() > 0);
    REQUIRE(m["requests"].size() == 4);
    for (const json& r : m["requests"])
      for (const char* k : {"id", "ttft_ms", "tpot_ms", "tokens_per_s", "accept_len", "queue_ms", "prompt_tokens"}) CHECK(r.contains(k));
    const std::string p = test::read_file(prom);
    CHECK(p.find("# TYPE tachyon:generation_tokens_total counter\ntachyon:generation_tokens_total " + std::to_string(generated) + "\n") != std::string::npos);
    CHECK(p.find("tachyon:request_success_total{finished_reason=\"length\"}") != std::string::npos);
    CHECK(p.find("tachyon:request_errors_total 2\n") != std::string::npos);
    CHECK(p.find("tachyon:num_requests_running 0\n") != std::string::npos);
    CHECK(p.find("tachyon:time_to_first_token_seconds_bucket{le=\"+Inf\"} 4\n") != std::string::npos);
    CHECK(p.find("tachyon:spec_decode_num_accepted_tokens_total 0\n") != std::string::npos);
  }
}

TEST_CASE("bad requests: one clear error line each, the good lines around them unchanged") {
  test::TempDir tmp("batch-bad");
  const std::string model = model_with_tokenizer(tmp, "qwen3");
  std::string long_prompt;
  for (int i = 0; i < 40; ++i) long_prompt += "word" + std::to_string(i) + " ";
  const json good_a = {{"id", "good-a"}, {"prompt", "def f(x):"}, {"max_tokens", 5}};
  const json good_b = {{"id", "good-b"}, {"prompt", "hello world"}, {"max_tokens", 4}, {"temperature", 0.8}, {"seed", 9}};
  const json unknown = {{"id", "unknown-field"}, {"prompt", "abc"}, {"max_tokens", 3}, {"colour", "red"}};
  {
    std::ofstream p(tmp.file("p.jsonl"));
    p << good_a.dump() << "\n";
    p << "{\"id\": \"torn\", \"prompt\": \"x\"\n";                                                       // malformed JSON
    p << json{{"id", "empty"}, {"prompt", ""}}.dump() << "\n";                                           // empty prompt
    p << json{{"id", "too-long"}, {"prompt", long_prompt}, {"max_tokens", 1}}.dump() << "\n";           // prompt > context
    p << json{{"id", "max-tokens"}, {"prompt", "short"}, {"max_tokens", 60}}.dump() << "\n";            // max_tokens beyond
    p << json{{"id", "bad-type"}, {"prompt", "short"}, {"temperature", "hot"}}.dump() << "\n";         // wrong type
    p << json{{"id", "prompt-type"}, {"prompt", 42}}.dump() << "\n";                                     // wrong type
    p << unknown.dump() << "\n";                                                                          // a warning only
    p << json{{"id", "n"}, {"prompt", "short"}, {"n", 0}}.dump() << "\n";                               // out of range
    p << json{{"id", "both"}, {"prompt", "a"}, {"input_ids", {1}}}.dump() << "\n";                      // two prompts
    p << json{{"id", "vocab"}, {"input_ids", {1, 5000}}}.dump() << "\n";                                // outside vocab
    p << "[1, 2]\n";                                                                                      // not an object
    p << good_b.dump() << "\n";
  }
  std::string out;
  const std::string common = "generate --model " + model + " --max-model-len 32 --max-batch 3 --progress off";
  REQUIRE_MESSAGE(test::run_tachyon(common + " --prompts " + tmp.file("p.jsonl") + " --out " + tmp.file("o.jsonl"), &out) == 0, out);
  const auto lines = read_jsonl(tmp.file("o.jsonl"));
  REQUIRE(lines.size() == 13);
  auto error_has = [&](size_t i, const json& id, const std::string& text) {
    CAPTURE(i);
    CHECK(lines[i]["id"] == id);
    REQUIRE(lines[i].contains("error"));
    const std::string e = lines[i]["error"];
    CHECK_MESSAGE(e.find(text) != std::string::npos, e);
    CHECK(lines[i].size() == 2);  // {id, error}: nothing else
  };
  error_has(1, 2, "p.jsonl:2: not valid JSON");
  error_has(2, "empty", "p.jsonl:3: field 'prompt': is empty");
  error_has(3, "too-long", "p.jsonl:4: the prompt has ");
  error_has(3, "too-long", "does not fit the context of 32 (--max-model-len)");
  const size_t short_len = tokenizer_of("qwen3").encode("short").size();
  error_has(4, "max-tokens", fmt::format("p.jsonl:5: the prompt has {} tokens and max_tokens is 60: {} positions exceed the "
                                         "context of 32 (--max-model-len); max_tokens can be at most {}", short_len,
                                         short_len + 60, 32 - short_len));
  error_has(5, "bad-type", "p.jsonl:6: field 'temperature': expected a number, got \"hot\"");
  error_has(6, "prompt-type", "p.jsonl:7: field 'prompt': expected a string, got number");
  error_has(8, "n", "p.jsonl:9: field 'n': must be in [1, 128], got 0");
  error_has(9, "both", "p.jsonl:10: field 'prompt': give either 'prompt' or 'input_ids', not both");
  error_has(10, "vocab", "p.jsonl:11: field 'input_ids': token id 5000 at position 1 is outside the vocabulary of 2048");
  error_has(11, 12, "p.jsonl:12: expected a JSON object, got array");
  CHECK(lines[7]["id"] == "unknown-field");
  CHECK(lines[7]["token_ids"].size() == 3);
  CHECK(lines[7]["warnings"] == json{"unknown field 'colour' ignored"});
  CHECK(out.find("p.jsonl:8: unknown field 'colour' ignored") != std::string::npos);  // and in the log
  // The good requests' results equal those of a file holding only them (same positions' seeds matter
  // only for requests without a seed: good-a is greedy, good-b has its own seed).
  {
    std::ofstream p(tmp.file("good.jsonl"));
    p << good_a.dump() << "\n" << unknown.dump() << "\n" << good_b.dump() << "\n";
  }
  REQUIRE(test::run_tachyon(common + " --prompts " + tmp.file("good.jsonl") + " --out " + tmp.file("g.jsonl"), &out) == 0);
  const auto good = read_jsonl(tmp.file("g.jsonl"));
  REQUIRE(good.size() == 3);
  CHECK(lines[0]["token_ids"] == good[0]["token_ids"]);
  CHECK(lines[7]["token_ids"] == good[1]["token_ids"]);
  CHECK(lines[12]["token_ids"] == good[2]["token_ids"]);
  CHECK(lines[12]["text"] == good[2]["text"]);

  // Files that cannot be right fail before any weights are read, naming the file (and line).
  auto fails_fast = [&](const std::string& args, const std::string& message) {
    CAPTURE(args);
    CHECK(test::run_tachyon(common + " " + args + " --out " + tmp.file("x.jsonl"), &out) != 0);
    CHECK_MESSAGE(out.find(message) != std::string::npos, out);
    CHECK_MESSAGE(out.find("loading weights") == std::string::npos, out);
  };
  fails_fast("--prompts " + tmp.file("missing.jsonl"), "prompt file '" + tmp.file("missing.jsonl") + "' does not exist");
  {
    std::ofstream p(tmp.file("binary.jsonl"), std::ios::binary);
    p << good_a.dump() << "\n" << std::string("\x7f" "ELF\0\0\1", 7) << "\n";
  }
  fails_fast("--prompts " + tmp.file("binary.jsonl"), tmp.file("binary.jsonl") + ":2: contains a NUL byte");
  fails_fast("--format openai --prompts " + tmp.file("good.jsonl"), tmp.file("good.jsonl") + ":1: --format openai expects");
  {
    std::ofstream p(tmp.file("prose.txt"));
    p << "Write a poem.\n";
  }
  fails_fast("--format tachyon --prompts " + tmp.file("prose.txt"), tmp.file("prose.txt") + ":1: the first request is not JSON");
  fails_fast("--format yaml --prompts " + tmp.file("good.jsonl"), "--format 'yaml': expected tachyon, openai, text or auto");
}

TEST_CASE("determinism: the same bytes whatever --max-batch or the rank count - n samples - text and directory inputs") {
  test::TempDir tmp("batch-determinism");
  const std::string model = model_with_tokenizer(tmp, "qwen3");
  std::filesystem::create_directories(tmp.file("in"));
  {
    std::ofstream p(tmp.file("in/a.jsonl"));
    for (int i = 0; i < 10; ++i) {
      json body = {{"prompt", "Story number " + std::to_string(i) + ":"}, {"max_tokens", 3 + i % 4}};
      if (i % 2) body["temperature"] = 0.9, body["top_k"] = 40;
      if (i % 3 == 0) body["n"] = 2, body["temperature"] = 1.0;
      if (i == 4) body = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", 4}, {"temperature", 0.7}};
      p << batch_line(fmt::format("r{}", i), i == 4 ? "/v1/chat/completions" : "/v1/completions", body).dump() << "\n";
    }
    std::ofstream t(tmp.file("in/b.txt"));
    t << "The first prompt\nThe second prompt\n\nThe third prompt\n";
  }
  std::string out;
  const std::string base = "generate --model " + model + " --reproducible --seed 21 --max-tokens 5 --progress off";
  // A directory of inputs: one output per file, named after it.
  REQUIRE_MESSAGE(test::run_tachyon(base + " --max-batch 16 --prompts " + tmp.file("in") + " --out " + tmp.file("out16"), &out) == 0, out);
  const std::string a16 = test::read_file(tmp.file("out16/a.jsonl")), b16 = test::read_file(tmp.file("out16/b.jsonl"));
  REQUIRE(count_lines(tmp.file("out16/a.jsonl")) == 10);
  REQUIRE(count_lines(tmp.file("out16/b.jsonl")) == 3);
  const auto text_lines = read_jsonl(tmp.file("out16/b.jsonl"));
  CHECK(text_lines[2]["id"] == 3);  // plain text: the prompt's position
  CHECK(text_lines[2]["usage"]["completion_tokens"] == 5);
  CHECK(!text_lines[2]["metrics"].contains("ttft_ms"));  // --reproducible: no wall-clock figures
  // Each file alone, other batch sizes, 2 ranks: the same bytes.
  // (--max-pending 1: reading pauses whenever a finished result waits for an earlier one.)
  for (const char* args : {"--max-batch 1", "--max-batch 3", "--max-batch 4 --max-pending 1"}) {
    REQUIRE(test::run_tachyon(base + " " + std::string(args) + " --prompts " + tmp.file("in/a.jsonl") + " --out " + tmp.file("a.jsonl"), &out) == 0);
    CHECK_MESSAGE(test::read_file(tmp.file("a.jsonl")) == a16, args);
  }
  const std::string two_ranks = test::mpirun(2) + TACHYON_EXE + " " + base + " --max-batch 5 --prompts " + tmp.file("in/a.jsonl") +
                                " --prompts " + tmp.file("in/b.txt") + " --out " + tmp.file("out2r");
  REQUIRE_MESSAGE(test::run(two_ranks + " > " + tmp.file("2r.log") + " 2>&1") == 0, test::read_file(tmp.file("2r.log")));
  CHECK(test::read_file(tmp.file("out2r/a.jsonl")) == a16);
  CHECK(test::read_file(tmp.file("out2r/b.jsonl")) == b16);
  // n samples: sample 0 is the request with n = 1; the others have their own seeds.
  const auto a = read_jsonl(tmp.file("out16/a.jsonl"));
  const json& choices = a[3]["response"]["body"]["choices"];
  REQUIRE(choices.size() == 2);
  {
    std::ofstream p(tmp.file("one.jsonl"));
    json body = {{"prompt", "Story number 3:"}, {"max_tokens", 6}, {"temperature", 1.0}, {"top_k", 40}};
    body["seed"] = 77;
    p << batch_line("n1", "/v1/completions", body).dump() << "\n";
    body["n"] = 4;
    p << batch_line("n4", "/v1/completions", body).dump() << "\n";
  }
  REQUIRE(test::run_tachyon(base + " --prompts " + tmp.file("one.jsonl") + " --out " + tmp.file("one.out"), &out) == 0);
  const auto n = read_jsonl(tmp.file("one.out"));
  const json& c1 = n[0]["response"]["body"]["choices"];
  const json& c4 = n[1]["response"]["body"]["choices"];
  REQUIRE(c4.size() == 4);
  CHECK(c4[0]["text"] == c1[0]["text"]);
  std::set<std::string> distinct;
  for (const auto& c : c4) distinct.insert(c["text"].get<std::string>());
  CHECK(distinct.size() >= 3);
  // Several inputs must write into a directory; two inputs with the same name are refused.
  CHECK(test::run_tachyon(base + " --prompts " + tmp.file("in/a.jsonl") + " --prompts " + tmp.file("in/b.txt"), &out) != 0);
  CHECK(out.find("need --out to name a directory") != std::string::npos);
}

TEST_CASE("10000 prompts in bounded memory - SIGKILL halfway then --resume gives the uninterrupted bytes") {
  test::TempDir tmp("batch-scale");
  std::string out;
  const std::string model = tmp.file("m.h5");
  REQUIRE(test::run_tachyon("convert --random-config " + test::fixture("models/random_qwen3_moe.json") + " --seed 3 --to " + model, &out) == 0);
  auto write_prompts = [&](const std::string& path, int n) {
    std::ofstream p(path);
    for (int i = 0; i < n; ++i) {
      json r{{"id", i}, {"input_ids", std::vector<int>{(i * 37 + 1) % 300, (i * 11 + 2) % 300, i % 7 + 3}}, {"max_tokens", 2 + i % 3}};
      if (i % 3 == 1) r["temperature"] = 1.0;  // seeds derived from --seed and the position
      p << r.dump() << "\n";
    }
  };
  write_prompts(tmp.file("p10k.jsonl"), 10000);
  write_prompts(tmp.file("p1k.jsonl"), 1000);
  const std::string base = "generate --model " + model + " --max-model-len 64 --reproducible --seed 5 --progress log --log-interval 1";
  const std::string full = tmp.file("full.jsonl");
  const auto t0 = std::chrono::steady_clock::now();
  REQUIRE_MESSAGE(test::run_tachyon(base + " --max-batch 32 --prompts " + tmp.file("p10k.jsonl") + " --out " + full + " --metrics-json " +
                                    tmp.file("m10k.json"), &out) == 0, out);
  const double full_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  CHECK(out.find("progress: ") != std::string::npos);
  REQUIRE(test::run_tachyon(base + " --max-batch 32 --prompts " + tmp.file("p1k.jsonl") + " --out " + tmp.file("1k.jsonl") + " --metrics-json " +
                            tmp.file("m1k.json"), &out) == 0);
  // In input order, one line each.
  const auto lines = lines_of(full);
  REQUIRE(lines.size() == 10000);
  for (size_t i = 0; i < lines.size(); i += 1) REQUIRE(json::parse(lines[i])["id"] == i);
  // Bounded memory: rank 0's peak RSS stays under a fixed bound and does not grow with the number of
  // prompts (the input is streamed, results leave as they finish, metrics go to disk).
  const double rss10k = json::parse(test::read_file(tmp.file("m10k.json")))["aggregate"]["peak_rss_mib"];
  const double rss1k = json::parse(test::read_file(tmp.file("m1k.json")))["aggregate"]["peak_rss_mib"];
  const double kBoundMib = 64;
  MESSAGE("peak RSS: ", rss10k, " MiB for 10,000 prompts, ", rss1k, " MiB for 1,000 (bound ", kBoundMib, " MiB); 10k run ", full_s, " s");
  CHECK(rss10k < kBoundMib);
  CHECK(rss10k < rss1k + 8);

  // Kill a run halfway with SIGKILL, tear its last line as a crash could, and resume it.
  const std::string killed = tmp.file("killed.jsonl"), log = tmp.file("killed.log");
  const int pid = test::spawn(std::string("exec ") + TACHYON_EXE + " " + base + " --max-batch 4 --prompts " +
                              tmp.file("p10k.jsonl") + " --out " + killed + " > " + log + " 2>&1");
  int early_exit = -1;
  for (int i = 0; i < 3000 && count_lines(killed) < 5000 && (early_exit = test::wait_for(pid, 0)) == -1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE_MESSAGE(early_exit == -1, test::read_file(log));
  REQUIRE(::kill(pid, SIGKILL) == 0);
  CHECK(test::wait_for(pid, 10) == 128 + SIGKILL);
  const size_t at_kill = count_lines(killed);
  MESSAGE("killed after ", at_kill, " of 10000 results");
  REQUIRE(at_kill >= 5000);
  REQUIRE(at_kill < 10000);
  { std::ofstream(killed, std::ios::app) << "{\"id\": " << at_kill << ", \"token_ids\": [1"; }  // a torn line
  REQUIRE_MESSAGE(test::run_tachyon(base + " --max-batch 7 --resume --prompts " + tmp.file("p10k.jsonl") + " --out " + killed, &out) == 0, out);
  CHECK(out.find("--resume: cut a torn last line") != std::string::npos);
  CHECK(out.find("carrying on from request " + std::to_string(at_kill + 1)) != std::string::npos);
  CHECK(test::read_file(killed) == test::read_file(full));  // byte for byte
  // Resuming a finished output changes nothing; resuming against another input is refused.
  REQUIRE(test::run_tachyon(base + " --resume --prompts " + tmp.file("p10k.jsonl") + " --out " + killed, &out) == 0);
  CHECK(test::read_file(killed) == test::read_file(full));
  {
    std::ofstream p(tmp.file("other.jsonl"));
    p << json{{"id", "someone-else"}, {"input_ids", {1, 2}}}.dump() << "\n";
  }
  CHECK(test::run_tachyon(base + " --resume --prompts " + tmp.file("other.jsonl") + " --out " + killed, &out) != 0);
  CHECK_MESSAGE(out.find("other.jsonl:1 has id \"someone-else\" but line 1 of") != std::string::npos, out);
}
