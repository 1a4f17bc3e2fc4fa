// tachyon tokenize / tachyon detokenize: text to ids and back with a model's tokenizer, and the
// tokenizer's speed benchmark (`tachyon tokenize --bench FILE`).
//
// The tokenizer comes from --tokenizer: a tokenizer.json, or a Tachyon checkpoint (.h5) that stores one.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apps/command.h"
#include "apps/options.h"
#include "model/checkpoint.h"
#include "model/error.h"
#include "model/fnv1a.h"
#include "model/text_file.h"
#include "model/tokenizer/tokenizer.h"

namespace tachyon::apps {
namespace {

// The checkpoint hook: the tokenizer.json string a Tachyon checkpoint stores (docs/checkpoint-format.md).
std::string checkpoint_tokenizer_json(const std::string& h5_path) {
  CheckpointReader reader(h5_path);
  TACHYON_REQUIRE(reader.tokenizer_json().has_value(),
                  "{}: this checkpoint stores no tokenizer; pass --tokenizer tokenizer.json instead", h5_path);
  return *reader.tokenizer_json();
}

Tokenizer load_tokenizer(const std::string& path) {
  const bool checkpoint = path.size() >= 3 && path.compare(path.size() - 3, 3, ".h5") == 0;
  const std::string json = checkpoint ? checkpoint_tokenizer_json(path) : read_text_file(path);
  try {
    return Tokenizer::from_json(json);
  } catch (const Error& e) {
    throw Error(fmt::format("{}: {}", path, e.what()));
  }
}

// CPU time of the calling thread: on a loaded machine it measures the work where wall time does not.
double thread_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int run_bench(const Tokenizer& tok, const std::string& path, int repeat, bool per_line, bool add_special) {
  const std::string text = read_text_file(path);
  std::vector<std::string_view> lines;
  if (per_line) {
    for (size_t i = 0; i < text.size();) {
      size_t j = text.find('\n', i);
      j = j == std::string::npos ? text.size() : j + 1;  // keep the newline: the same bytes as the whole text
      lines.push_back(std::string_view(text).substr(i, j - i));
      i = j;
    }
  }
  std::vector<double> seconds, cpu_seconds;
  std::vector<int32_t> ids;
  for (int r = 0; r < std::max(1, repeat); ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = thread_cpu_seconds();
    if (per_line) {
      ids.clear();
      for (std::string_view line : lines) {
        auto v = tok.encode(line, add_special);
        ids.insert(ids.end(), v.begin(), v.end());
      }
    } else {
      ids = tok.encode(text, add_special);
    }
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    cpu_seconds.push_back(thread_cpu_seconds() - c0);
  }
  auto median_of = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double median = median_of(seconds), cpu_median = median_of(cpu_seconds);
  nlohmann::json out = {{"file", path},
                        {"bytes", text.size()},
                        {"mode", per_line ? "lines" : "document"},
                        {"calls", per_line ? lines.size() : 1},
                        {"tokens", ids.size()},
                        {"ids_fnv1a", fmt::format("{:016x}", fnv1a64_le32(ids))},
                        {"seconds", seconds},
                        {"seconds_median", median},
                        {"mb_per_s", text.size() / 1e6 / median},
                        {"mb_per_s_first_run", text.size() / 1e6 / seconds.front()},
                        {"cpu_seconds", cpu_seconds},
                        {"mb_per_s_cpu", text.size() / 1e6 / cpu_median},
                        {"threads", 1}};
  std::cout << out.dump() << "\n";
  return 0;
}

int run_tokenize(int argc, char** argv) {
  po::options_description opts("options");
  std::string tokenizer_path, text, file, bench;
  bool lines = false, jsonl = false, no_special = false;
  int repeat = 5;
  opts.add_options()
      ("tokenizer", po::value(&tokenizer_path)->required(), "tokenizer.json, or a Tachyon checkpoint (.h5)")
      ("text", po::value(&text), "text to encode")
      ("file", po::value(&file), "encode this file (whole, or per line with --lines)")
      ("lines", po::bool_switch(&lines), "one text per input line (newline excluded); one JSON array per line")
      ("jsonl", po::bool_switch(&jsonl), "one JSON string per input line; one JSON array per line")
      ("no-special", po::bool_switch(&no_special), "do not add the post-processor's special tokens (BOS/EOS)")
      ("bench", po::value(&bench), "benchmark: encode FILE and print MB/s as JSON (one thread)")
      ("repeat", po::value(&repeat)->default_value(5), "benchmark runs (the median is reported)");
  po::variables_map vm;
  const char* usage =
      "usage: tachyon tokenize --tokenizer tokenizer.json [--text TEXT | --file FILE] [--lines | --jsonl]\n"
      "       tachyon tokenize --tokenizer tokenizer.json --bench FILE [--repeat N] [--lines]\n\n"
      "Prints the ids as a JSON array. Without --text or --file, reads standard input. With --lines or\n"
      "--jsonl, a line that cannot be encoded (invalid UTF-8, bad JSON) prints {\"error\": ...} and the\n"
      "others go on.";
  if (!parse_options(argc, argv, usage, opts, vm)) return 0;
  const Tokenizer tok = load_tokenizer(tokenizer_path);
  const bool add_special = !no_special;
  if (!bench.empty()) return run_bench(tok, bench, repeat, lines, add_special);
  TACHYON_REQUIRE(!(vm.count("text") && vm.count("file")), "give --text or --file, not both");
  if (vm.count("text")) {
    std::cout << nlohmann::json(tok.encode(text, add_special)).dump() << "\n";
    return 0;
  }
  std::ifstream file_stream;
  if (!file.empty()) {
    file_stream.open(file, std::ios::binary);
    TACHYON_REQUIRE(file_stream.good(), "cannot open {}", file);
  }
  std::istream& in = file.empty() ? std::cin : file_stream;
  if (!lines && !jsonl) {
    std::ostringstream ss;
    ss << in.rdbuf();
    std::cout << nlohmann::json(tok.encode(ss.str(), add_special)).dump() << "\n";
    return 0;
  }
  int failures = 0;
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n) {
    try {
      std::string input = line;
      if (jsonl) {
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::parse_error& e) {
          throw Error(fmt::format("not a JSON string: {}", e.what()));
        }
        TACHYON_REQUIRE(j.is_string(), "not a JSON string");
        input = j.get<std::string>();
      }
      std::cout << nlohmann::json(tok.encode(input, add_special)).dump() << "\n";
    } catch (const Error& e) {
      ++failures;
      std::cout << nlohmann::json{{"error", fmt::format("line {}: {}", n, e.what())}}.dump() << "\n";
    }
  }
  return failures ? 1 : 0;
}

int run_detokenize(int argc, char** argv) {
  po::options_description opts("options");
  std::string tokenizer_path, ids_json;
  bool skip_special = false, stream = false, json_out = false;
  opts.add_options()
      ("tokenizer", po::value(&tokenizer_path)->required(), "tokenizer.json, or a Tachyon checkpoint (.h5)")
      ("ids", po::value(&ids_json), "ids as a JSON array, e.g. [9707, 1879]")
      ("skip-special", po::bool_switch(&skip_special), "leave special tokens out of the text")
      ("stream", po::bool_switch(&stream), "decode id by id as a streaming server would (same text)")
      ("json", po::bool_switch(&json_out), "print each text as a JSON string on one line");
  po::variables_map vm;
  const char* usage =
      "usage: tachyon detokenize --tokenizer tokenizer.json [--ids JSON] [--skip-special] [--stream] [--json]\n\n"
      "Without --ids, reads one JSON array of ids per line from standard input and prints one text per\n"
      "array (use --json when texts hold newlines).";
  if (!parse_options(argc, argv, usage, opts, vm)) return 0;
  const Tokenizer tok = load_tokenizer(tokenizer_path);
  auto decode_one = [&](const std::string& source) {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(source);
    } catch (const nlohmann::json::parse_error& e) {
      throw Error(fmt::format("ids must be a JSON array of integers: {}", e.what()));
    }
    TACHYON_REQUIRE(j.is_array(), "ids must be a JSON array of integers, got {}", source);
    std::vector<int32_t> ids;
    for (const auto& v : j) {
      TACHYON_REQUIRE(v.is_number_integer(), "ids must be integers, got {}", v.dump());
      ids.push_back(v.get<int32_t>());
    }
    std::string text;
    if (stream) {
      IncrementalDecoder decoder(tok, skip_special);
      for (int32_t id : ids) {
        const std::string piece = decoder.push(id);
        if (!json_out) std::cout << piece << std::flush;
        text += piece;
      }
      const std::string tail = decoder.finish();
      if (!json_out) std::cout << tail;
      text += tail;
    } else {
      text = tok.decode(ids, skip_special);
      if (!json_out) std::cout << text;
    }
    std::cout << (json_out ? nlohmann::json(text).dump() : std::string()) << "\n";
  };
  if (vm.count("ids")) {
    decode_one(ids_json);
    return 0;
  }
  int failures = 0;
  std::string line;
  for (size_t n = 1; std::getline(std::cin, line); ++n) {
    if (line.empty()) continue;
    try {
      decode_one(line);
    } catch (const Error& e) {
      ++failures;
      std::cout << nlohmann::json{{"error", fmt::format("line {}: {}", n, e.what())}}.dump() << "\n";
    }
  }
  return failures ? 1 : 0;
}

}  // namespace
TACHYON_COMMAND("tokenize", "text to token ids with a model's tokenizer (and its --bench)", run_tokenize);
TACHYON_COMMAND("detokenize", "token ids to text with a model's tokenizer", run_detokenize);
}  // namespace tachyon::apps
