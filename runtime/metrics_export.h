// What a run measured, kept in bounded memory whatever the number of requests, and written out:
//   --metrics-json FILE      at the end: {"aggregate": {...}, "requests": [{...}, ...]}; per-request
//                            records are streamed to FILE.partial during the run (not held in memory)
//                            and the file is assembled when the run ends.
//   --prometheus-file FILE   Prometheus text exposition (format 0.0.4), rewritten every few seconds
//                            and at the end, atomically (written beside it, then renamed), as node
//                            exporter's textfile collector expects. Names follow vLLM's (`vllm:` ->
//                            `tachyon:`): requests running / finished, prompt and generation tokens,
//                            TTFT / TPOT / end-to-end histograms, speculative drafts and accepted tokens.
// Quantiles (p50, p90, p99) come from log-spaced histograms (2% wide buckets): accurate to about 1%,
// constant memory.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "runtime/sequence.h"

namespace tachyon {

// Peak resident set size of this process so far (getrusage), in MiB.
double peak_rss_mib();

// Values in (1e-3, 1e8) in log-spaced buckets; quantiles by the bucket's geometric middle.
class LogHistogram {
 public:
  void add(double v);
  uint64_t count() const { return count_; }
  double mean() const { return count_ ? sum_ / static_cast<double>(count_) : 0.0; }
  double max() const { return max_; }
  double quantile(double q) const;
  nlohmann::json summary() const;  // {"mean", "p50", "p90", "p99", "max"}

 private:
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  double sum_ = 0.0, max_ = 0.0;
};

// A Prometheus histogram with fixed upper bounds (seconds).
struct PromHistogram {
  std::vector<double> bounds;
  std::vector<uint64_t> counts;  // per bound, not cumulative
  uint64_t count = 0;
  double sum = 0.0;
  explicit PromHistogram(std::vector<double> b) : bounds(std::move(b)), counts(bounds.size(), 0) {}
  void add(double seconds);
};

struct RunCounters {
  uint64_t requests = 0;        // lines read (resumed ones included)
  uint64_t finished = 0;        // answered with a result in this run
  uint64_t errors = 0;          // answered with an error line
  uint64_t resumed = 0;         // already in the output (--resume), skipped
  uint64_t finished_stop = 0, finished_length = 0;  // requests, by their first sample's finish reason
  uint64_t prompt_tokens = 0, completion_tokens = 0;
  uint64_t target_passes = 0;
  uint64_t steps = 0;
  uint64_t drafts = 0, draft_tokens = 0, accepted_tokens = 0;  // speculative blocks, their drafts, kept drafts
  uint64_t running = 0;         // sequences in KV slots now
  double kv_usage = 0.0;        // fraction of KV positions in use now
  double acceptance_length() const {
    return target_passes ? static_cast<double>(completion_tokens) / static_cast<double>(target_passes) : 0.0;
  }
};

struct MetricsOptions {
  std::string json_path;        // "" : none
  std::string prometheus_path;  // "" : none
  double prometheus_interval_s = 5.0;
};

class RunMetrics {
 public:
  explicit RunMetrics(MetricsOptions options);
  ~RunMetrics();

  RunCounters counters;

  // A request whose output line was just written; `file` names its input.
  void request_finished(const RequestGroup& g, const std::string& file);
  // Rewrites the Prometheus file when its interval has passed (or `force`).
  void poll(bool force = false);
  // Ends the run: the final Prometheus file and the --metrics-json file. `extra` joins the aggregate.
  void finish(double wall_seconds, const nlohmann::json& extra);

  const LogHistogram& ttft_ms() const { return ttft_; }
  const LogHistogram& tpot_ms() const { return tpot_; }
  const LogHistogram& e2e_ms() const { return e2e_; }

 private:
  void write_prometheus();

  MetricsOptions o_;
  std::ofstream partial_;       // per-request records, one JSON object a line
  LogHistogram ttft_, tpot_, e2e_, queue_;
  PromHistogram prom_ttft_, prom_tpot_, prom_e2e_;
  std::chrono::steady_clock::time_point last_prom_;
};

}  // namespace tachyon
