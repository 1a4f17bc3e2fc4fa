// Progress of a generation run on rank 0, for people watching it.
//   Terminal (stderr is a tty): one bar redrawn in place, at most 5 times a second:
//     generate  45%|#########           | 4500/10000 [00:12<00:15, 360.1 req/s, out 2900 tok/s, acc 1.00, 8 running]
//   Otherwise (a log file, a Slurm job's output): a log line every --log-interval seconds:
//     progress: 4500/10000 requests (45.0%), 3 errors, 8 running | 360.1 req/s, 2900 output tok/s | ...
// While the bar is up, log lines first clear it (a sink wrapped around the default logger's), and the
// next update draws it again below them.
// Rates count this run's work only (not requests skipped by --resume); the ETA divides what is left by
// the request rate so far.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <spdlog/common.h>

namespace tachyon {

enum class ProgressMode { Auto, Bar, Log, Off };
ProgressMode parse_progress_mode(const std::string& name);  // auto, bar, log, off

struct ProgressSnapshot {
  uint64_t done = 0;                  // requests answered (results, errors and resumed)
  uint64_t done_this_run = 0;         // the same without the resumed ones
  uint64_t errors = 0;
  std::optional<uint64_t> total;      // when the input was counted
  uint64_t prompt_tokens = 0, completion_tokens = 0;
  uint64_t running = 0;
  double acceptance_length = 0.0;
  double elapsed_s = 0.0;
  bool speculative = false;
};

class ProgressReporter {
 public:
  ProgressReporter(ProgressMode mode, double log_interval_s);
  ~ProgressReporter();
  // Redraws or logs when due.
  void update(const ProgressSnapshot& s);
  // The last state, then a newline after a bar.
  void finish(const ProgressSnapshot& s);
  ProgressMode mode() const { return mode_; }

  // The one-line text of a snapshot (exposed for tests).
  static std::string bar_text(const ProgressSnapshot& s, int width);
  static std::string log_text(const ProgressSnapshot& s);

 private:
  ProgressMode mode_;
  double interval_s_;
  double last_ = -1e9;
  std::shared_ptr<std::atomic<bool>> drawn_ = std::make_shared<std::atomic<bool>>(false);
  std::vector<spdlog::sink_ptr> saved_sinks_;  // the default logger's own, put back at the end
};

std::string format_duration(double seconds);  // 00:12, 1:02:03

}  // namespace tachyon
