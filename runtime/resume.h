// --resume: carry on from the output file an interrupted run left behind.
//
// The output holds one whole line per request, in input order, so its complete lines are exactly the
// first K requests. Before appending, the file is repaired: a torn last line (no newline, or bytes that
// do not parse, as a crash or a file system that lost its tail leaves them) is cut off. A bad line with
// good lines after it is not a torn tail but damage, and the run refuses to touch it. As the input is
// read again, each of the first K requests is checked against its line (same id, or custom_id) so that
// a different input file, or one that changed, is not silently mixed with old results; those requests
// are skipped, and the rest run with the seeds they would have had (a request's seed depends only on
// --seed and its position), so the finished file equals an uninterrupted run's.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <fstream>
#include <string>

namespace tachyon {

struct ResumePoint {
  size_t complete_lines = 0;   // requests already answered
  uint64_t kept_bytes = 0;
  uint64_t dropped_bytes = 0;  // a torn tail cut off
};

// Repairs `path` in place (truncating a torn tail) and says how far it got. A missing file is a fresh
// start. Throws tachyon::Error on damage that is not a torn tail.
ResumePoint repair_for_resume(const std::string& path);

// Reads the ids of an output file's first lines, one at a time, to check them against the input.
class ResumeCursor {
 public:
  ResumeCursor(const std::string& path, size_t lines);
  size_t lines() const { return lines_; }
  // The id of line `index` (0-based, called in order): "custom_id" for OpenAI batch lines, else "id".
  nlohmann::json id_of(size_t index);

 private:
  std::string path_;
  std::ifstream in_;
  size_t lines_, read_ = 0;
};

}  // namespace tachyon
