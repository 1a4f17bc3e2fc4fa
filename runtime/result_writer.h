// Writes one JSON line per request, in input order, as results complete: a result that finishes early
// waits (in memory) only until every earlier one is written. Lines go straight to write(2) (no user-space
// buffer), whole lines in one call, so a killed job leaves at most one torn last line (which --resume
// cuts off: runtime/resume.h). The file is fsynced when `sync_interval_s` has passed since the last
// fsync, checked on every submit and on every poll() (the generator polls each step), and on close; so
// a machine that goes down loses at most the last few seconds of results.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

namespace tachyon {

class ResultWriter {
 public:
  // "-" writes to stdout. `append` keeps what the file holds (for --resume); the next line written is
  // then that of request `first_index` (the lines already there).
  explicit ResultWriter(const std::string& path, bool append = false, double sync_interval_s = 2.0,
                        size_t first_index = 0);
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
  // fsyncs when the interval has passed and something was written since the last fsync.
  void poll();
  // fsyncs and closes the file; later submits are errors.
  void close();
  const std::string& path() const { return path_; }
  bool is_open() const { return fd_ >= 0; }

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
  bool dirty_ = false;
};

}  // namespace tachyon
