// Prompt files: which files a run reads, in which format, where each one's results go, and reading
// them line by line (never a whole file in memory).
//
// Formats (--format, or detected from a file's first non-blank line):
//   tachyon  JSONL requests {"id", "prompt" | "input_ids", ...} (runtime/request.h)    -> Tachyon lines
//   openai   the OpenAI batch format of `vllm run-batch` (runtime/openai_batch.h)     -> OpenAI batch lines
//   text     one prompt per line, verbatim; the id is its position (1-based)           -> Tachyon lines
// Detection: a JSON object with "custom_id" or "body" is openai, any other JSON object is tachyon,
// anything else is text.
//
// Inputs and outputs: --prompts names files or directories (every regular, non-hidden file in it, by
// name), and may repeat. One input file: results go to --out (a file, or "-" for stdout). Several: --out
// is a directory (created when missing) and input `dir/name.ext` writes `OUT/name.jsonl`; two inputs
// with the same name are refused, as is an output that is one of the inputs.
//
// A file that cannot be read, contains NUL bytes (not text), or whose first line does not fit the
// format asked for fails the run before any model work, naming the file and line.
#pragma once

#include <cstdint>
#include <fstream>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "runtime/chat_template.h"
#include "runtime/request.h"

namespace tachyon {

enum class InputFormat { Auto, Tachyon, OpenAi, Text };

InputFormat parse_input_format(const std::string& name);  // tachyon, openai, text, auto
const char* input_format_name(InputFormat f);

struct InputFile {
  std::string path;
  InputFormat format = InputFormat::Auto;
  std::string output_path;
  std::optional<size_t> requests;  // non-blank lines, when counted
  int64_t mtime = 0;               // modification time (unix seconds)
};

struct InputOptions {
  InputFormat format = InputFormat::Auto;
  // Count each file's requests up front (for progress and ETA); skipped past this many bytes in all.
  uint64_t count_limit_bytes = uint64_t(8) << 30;
};

// Expands, checks and maps the inputs; throws tachyon::Error naming the file (and line) at fault.
std::vector<InputFile> resolve_inputs(const std::vector<std::string>& prompts, const std::string& out,
                                      const InputOptions& options);

// Reads non-blank lines one at a time. `origin` is "file:line" (1-based).
class LineReader {
 public:
  explicit LineReader(const std::string& path);
  bool next(std::string& line, std::string& origin);
  size_t line_number() const { return line_no_; }

 private:
  std::string path_;
  std::ifstream in_;
  size_t line_no_ = 0;
};

// Parses one line of a file in `format` (not Auto) into a request or an error.
std::variant<Request, RequestError> parse_input_line(InputFormat format, const std::string& line, size_t index,
                                                     const std::string& origin, const RequestDefaults& defaults,
                                                     ChatFormat chat);

}  // namespace tachyon
