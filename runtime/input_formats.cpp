#include "runtime/input_formats.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "model/error.h"
#include "runtime/openai_batch.h"

namespace tachyon {

namespace fs = std::filesystem;
using nlohmann::json;

InputFormat parse_input_format(const std::string& name) {
  if (name == "auto") return InputFormat::Auto;
  if (name == "tachyon") return InputFormat::Tachyon;
  if (name == "openai") return InputFormat::OpenAi;
  if (name == "text") return InputFormat::Text;
  throw Error(fmt::format("--format '{}': expected tachyon, openai, text or auto", name));
}

const char* input_format_name(InputFormat f) {
  switch (f) {
    case InputFormat::Tachyon: return "tachyon";
    case InputFormat::OpenAi: return "openai";
    case InputFormat::Text: return "text";
    case InputFormat::Auto: break;
  }
  return "auto";
}

LineReader::LineReader(const std::string& path) : path_(path), in_(path, std::ios::binary) {
  TACHYON_REQUIRE(in_.good(), "cannot open prompt file '{}': {}", path, std::strerror(errno));
}

bool LineReader::next(std::string& line, std::string& origin) {
  while (std::getline(in_, line)) {
    ++line_no_;
    if (!line.empty() && line.back() == '\r') line.pop_back();  // files written on Windows
    if (line.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    origin = fmt::format("{}:{}", path_, line_no_);
    return true;
  }
  TACHYON_REQUIRE(!in_.bad(), "reading prompt file '{}' failed at line {}", path_, line_no_);
  return false;
}

namespace {

InputFormat detect(const std::string& first_line) {
  const json j = json::parse(first_line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InputFormat::Text;
  if (j.contains("custom_id") || j.contains("body")) return InputFormat::OpenAi;
  return InputFormat::Tachyon;
}

// Reads the file once: checks it is text, finds its format from the first non-blank line, counts
// requests (while under the byte budget). Memory stays constant whatever the file's size.
void scan(InputFile& f, InputFormat asked, uint64_t& budget) {
  std::error_code ec;
  const auto size = fs::file_size(f.path, ec);
  TACHYON_REQUIRE(!ec, "prompt file '{}': {}", f.path, ec.message());
  struct stat st {};
  if (::stat(f.path.c_str(), &st) == 0) f.mtime = static_cast<int64_t>(st.st_mtime);
  const bool count = size <= budget;
  if (count) budget -= size;
  LineReader reader(f.path);
  std::string line, origin;
  size_t n = 0;
  bool first = true;
  while (reader.next(line, origin)) {
    TACHYON_REQUIRE(line.find('\0') == std::string::npos, "{}: contains a NUL byte: '{}' is not a text file", origin, f.path);
    if (first) {
      first = false;
      const InputFormat found = detect(line);
      if (asked == InputFormat::Auto) {
        f.format = found;
      } else {
        f.format = asked;
        const char* want = asked == InputFormat::OpenAi ? "an OpenAI batch line {\"custom_id\", \"method\", \"url\", \"body\"}"
                                                        : "a JSON object (a Tachyon request)";
        TACHYON_REQUIRE(asked == InputFormat::Text || found != InputFormat::Text,
                        "{}: the first request is not JSON; --format {} expects {} on every line (is this the right "
                        "file? --format text reads one prompt per line)", origin, input_format_name(asked), want);
        TACHYON_REQUIRE(asked != InputFormat::OpenAi || found == InputFormat::OpenAi,
                        "{}: --format openai expects {}; this line has neither 'custom_id' nor 'body'", origin, want);
      }
      if (!count) break;
    }
    ++n;
  }
  if (first) f.format = asked == InputFormat::Auto ? InputFormat::Tachyon : asked;  // empty file
  if (count) f.requests = n;
}

}  // namespace

std::vector<InputFile> resolve_inputs(const std::vector<std::string>& prompts, const std::string& out,
                                      const InputOptions& options) {
  TACHYON_REQUIRE(!prompts.empty(), "no prompt file given (--prompts)");
  std::vector<InputFile> files;
  bool directory_given = false;
  for (const std::string& p : prompts) {
    std::error_code ec;
    const auto status = fs::status(p, ec);
    TACHYON_REQUIRE(!ec && fs::exists(status), "prompt file '{}' does not exist", p);
    if (fs::is_directory(status)) {
      directory_given = true;
      std::vector<std::string> inside;
      for (const auto& e : fs::directory_iterator(p)) {
        const std::string name = e.path().filename().string();
        if (name.empty() || name[0] == '.' || !e.is_regular_file()) continue;
        inside.push_back(e.path().string());
      }
      std::sort(inside.begin(), inside.end());
      TACHYON_REQUIRE(!inside.empty(), "prompt directory '{}' holds no files", p);
      for (auto& f : inside) {
        files.emplace_back();
        files.back().path = f;
      }
    } else {
      files.emplace_back();
      files.back().path = p;
    }
  }
  // Where each file's results go.
  if (files.size() == 1 && !directory_given && !(out != "-" && fs::is_directory(out))) {
    files[0].output_path = out;
  } else {
    TACHYON_REQUIRE(out != "-", "several prompt files ({}) need --out to name a directory, not stdout", files.size());
    std::error_code ec;
    fs::create_directories(out, ec);
    TACHYON_REQUIRE(fs::is_directory(out), "--out '{}': cannot create the output directory{}", out,
                    ec ? ": " + ec.message() : "");
    std::map<std::string, std::string> taken;
    for (auto& f : files) {
      const std::string name = fs::path(f.path).stem().string() + ".jsonl";
      auto [it, fresh] = taken.emplace(name, f.path);
      TACHYON_REQUIRE(fresh, "prompt files '{}' and '{}' would both write '{}' in --out {}: rename one", it->second,
                      f.path, name, out);
      f.output_path = (fs::path(out) / name).string();
    }
  }
  for (const auto& f : files) {
    std::error_code ec;
    TACHYON_REQUIRE(f.output_path == "-" || !fs::exists(f.output_path) || !fs::equivalent(f.output_path, f.path, ec),
                    "prompt file '{}' is also its output file: choose another --out", f.path);
  }
  uint64_t budget = options.count_limit_bytes;
  for (auto& f : files) scan(f, options.format, budget);
  return files;
}

std::variant<Request, RequestError> parse_input_line(InputFormat format, const std::string& line, size_t index,
                                                     const std::string& origin, const RequestDefaults& defaults,
                                                     ChatFormat chat) {
  switch (format) {
    case InputFormat::OpenAi:
      return parse_openai_line(line, index, origin, defaults, chat);
    case InputFormat::Text: {
      Request r;
      r.index = index;
      r.id = static_cast<int64_t>(index + 1);
      r.prompt_text = line;
      r.max_tokens = defaults.max_tokens;
      r.sampling.seed = derived_seed(defaults.seed, index);
      return r;
    }
    case InputFormat::Tachyon:
    case InputFormat::Auto:
      break;
  }
  return parse_request_line(line, index, origin, defaults);
}

}  // namespace tachyon
