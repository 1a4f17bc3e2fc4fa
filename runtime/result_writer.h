// Writes one JSON line per request, in input order, as results complete: a result that finishes early
// waits (in memory) only until every earlier one is written. Each line goes out in a single write(2),
// so a killed job never leaves half a line from a completed write; the file is fsynced at most every
// `sync_interval_s` seconds and on close.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

namespace tachyon {

class ResultWriter {
 public:
  // "-" writes to stdout. `append` keeps what the file holds (for --resume).
  explicit ResultWriter(const std::string& path, bool append = false, double sync_interval_s = 2.0);
  ~ResultWriter();
  ResultWriter(const ResultWriter&) = delete;
  ResultWriter& operator=(const ResultWriter&) = delete;

  // `line` is one JSON object without the trailing newline. Indexes must each be submitted once.
  void submit(size_t index, std::string line);
  // Marks an index as needing no line (e.g. already present when resuming).
  void skip(size_t index);
  size_t next_index() const { return next_; }
  size_t pending() const { return waiting_.size(); }
  void sync();

 private:
  void drain();
  void write_all(const std::string& bytes);

  std::string path_;
  int fd_ = -1;
  bool owns_fd_ = false;
  size_t next_ = 0;
  std::map<size_t, std::string> waiting_;  // completed but not yet written (an empty string: skipped)
  double sync_interval_s_;
  std::chrono::steady_clock::time_point last_sync_;
};

}  // namespace tachyon
