#include "runtime/resume.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "model/error.h"

namespace tachyon {

using nlohmann::json;

namespace {
bool parses_as_object(const std::string& line) {
  const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
  return j.is_object();
}
}  // namespace

ResumePoint repair_for_resume(const std::string& path) {
  ResumePoint p;
  std::ifstream in(path, std::ios::binary);
  if (!in) return p;  // nothing written yet
  // Pass over the lines, remembering where the last good one ends; one line in memory at a time.
  uint64_t offset = 0, good_end = 0;
  size_t good = 0, line_no = 0;
  size_t first_bad_line = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    const bool terminated = !in.eof();
    offset += line.size() + (terminated ? 1 : 0);
    const bool ok = terminated && parses_as_object(line);
    if (ok && first_bad_line == 0) {
      ++good;
      good_end = offset;
    } else if (ok) {
      throw Error(fmt::format("--resume: output file '{}' line {} is damaged but line {} after it is whole: this is "
                              "not a torn last line; repair or remove the file", path, first_bad_line, line_no));
    } else if (first_bad_line == 0) {
      first_bad_line = line_no;
    }
  }
  TACHYON_REQUIRE(!in.bad(), "--resume: reading '{}' failed: {}", path, std::strerror(errno));
  p.complete_lines = good;
  p.kept_bytes = good_end;
  p.dropped_bytes = offset - good_end;
  if (p.dropped_bytes > 0) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    TACHYON_REQUIRE(fd >= 0 && ::ftruncate(fd, static_cast<off_t>(good_end)) == 0 && ::fsync(fd) == 0,
                    "--resume: cannot cut the torn tail of '{}': {}", path, std::strerror(errno));
    ::close(fd);
  }
  return p;
}

ResumeCursor::ResumeCursor(const std::string& path, size_t lines) : path_(path), lines_(lines) {
  if (lines_ > 0) {
    in_.open(path, std::ios::binary);
    TACHYON_REQUIRE(in_.good(), "--resume: cannot read '{}'", path);
  }
}

json ResumeCursor::id_of(size_t index) {
  TACHYON_CHECK(index == read_ && index < lines_, "resume cursor read out of order ({} after {})", index, read_);
  std::string line;
  TACHYON_REQUIRE(static_cast<bool>(std::getline(in_, line)), "--resume: '{}' ended before line {}", path_, index + 1);
  ++read_;
  const json j = json::parse(line, nullptr, false);
  if (!j.is_object()) return json();
  if (j.contains("custom_id")) return j["custom_id"];
  return j.value("id", json());
}

}  // namespace tachyon
