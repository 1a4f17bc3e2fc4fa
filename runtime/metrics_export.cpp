#include "runtime/metrics_export.h"

#include <sys/resource.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "model/error.h"

namespace tachyon {

using nlohmann::json;

double peak_rss_mib() {
  struct rusage u {};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;  // Linux reports KiB
}

namespace {
constexpr double kMin = 1e-3, kRatio = 1.02;
const double kLogRatio = std::log(kRatio);
constexpr size_t kBuckets = 1400;  // 1e-3 * 1.02^1400 > 1e9
}  // namespace

void LogHistogram::add(double v) {
  if (buckets_.empty()) buckets_.assign(kBuckets, 0);
  size_t b = 0;
  if (v > kMin) b = std::min(kBuckets - 1, static_cast<size_t>(std::log(v / kMin) / kLogRatio) + 1);
  ++buckets_[b];
  ++count_;
  sum_ += v;
  max_ = std::max(max_, v);
}

double LogHistogram::quantile(double q) const {
  if (!count_) return 0.0;
  const uint64_t rank = static_cast<uint64_t>(std::ceil(q * static_cast<double>(count_)));
  uint64_t seen = 0;
  for (size_t b = 0; b < buckets_.size(); ++b) {
    seen += buckets_[b];
    if (seen >= std::max<uint64_t>(rank, 1)) {
      if (b == 0) return 0.0;
      const double lo = kMin * std::pow(kRatio, static_cast<double>(b - 1));
      return std::min(max_, lo * std::sqrt(kRatio));
    }
  }
  return max_;
}

json LogHistogram::summary() const {
  return {{"mean", mean()}, {"p50", quantile(0.5)}, {"p90", quantile(0.9)}, {"p99", quantile(0.99)}, {"max", max()}};
}

void PromHistogram::add(double seconds) {
  for (size_t i = 0; i < bounds.size(); ++i)
    if (seconds <= bounds[i]) {
      ++counts[i];
      break;
    }
  ++count;
  sum += seconds;
}

RunMetrics::RunMetrics(MetricsOptions options)
    : o_(std::move(options)),
      // vLLM's bucket bounds for the same histograms, so that dashboards built for it fit.
      prom_ttft_({0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0,
                  80.0, 160.0, 640.0, 2560.0}),
      prom_tpot_({0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0, 40.0, 80.0}),
      prom_e2e_({0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0, 120.0, 240.0, 480.0,
                 960.0, 1920.0, 7680.0}),
      last_prom_(std::chrono::steady_clock::now()) {
  if (!o_.json_path.empty()) {
    partial_.open(o_.json_path + ".partial", std::ios::binary | std::ios::trunc);
    TACHYON_REQUIRE(partial_.good(), "--metrics-json: cannot write '{}.partial'", o_.json_path);
  }
  if (!o_.prometheus_path.empty()) write_prometheus();  // exists (all zero) from the start
}

RunMetrics::~RunMetrics() = default;

void RunMetrics::request_finished(const RequestGroup& g, const std::string& file) {
  const RequestTimings t = request_timings(g);
  ttft_.add(t.ttft_ms);
  if (g.samples.front().output.size() > 1) tpot_.add(t.tpot_ms);
  e2e_.add(t.e2e_ms);
  queue_.add(t.queue_ms);
  prom_ttft_.add(t.ttft_ms / 1e3);
  if (g.samples.front().output.size() > 1) prom_tpot_.add(t.tpot_ms / 1e3);
  prom_e2e_.add(t.e2e_ms / 1e3);
  if (!partial_.is_open()) return;
  const size_t out = g.completion_tokens();
  const double gen_s = ms_between(g.samples.front().admitted, g.samples.front().finished) / 1e3;
  json r;
  r["file"] = file;
  r["index"] = g.request.index;
  r["id"] = g.request.id;
  r["n"] = g.request.n;
  r["prompt_tokens"] = g.prompt_len();
  r["completion_tokens"] = out;
  r["queue_ms"] = t.queue_ms;
  r["ttft_ms"] = t.ttft_ms;
  r["tpot_ms"] = t.tpot_ms;
  r["e2e_ms"] = t.e2e_ms;
  r["tokens_per_s"] = gen_s > 0 ? static_cast<double>(g.samples.front().output.size()) / gen_s : 0.0;
  r["accept_len"] = g.accept_len();
  partial_ << r.dump(-1, ' ', false, json::error_handler_t::replace) << '\n';
}

void RunMetrics::poll(bool force) {
  if (o_.prometheus_path.empty()) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && std::chrono::duration<double>(now - last_prom_).count() < o_.prometheus_interval_s) return;
  last_prom_ = now;
  write_prometheus();
}

namespace {
void metric(std::string& s, const char* name, const char* type, const char* help, double value) {
  s += fmt::format("# HELP tachyon:{} {}\n# TYPE tachyon:{} {}\ntachyon:{} {}\n", name, help, name, type, name, value);
}
void histogram(std::string& s, const char* name, const char* help, const PromHistogram& h) {
  s += fmt::format("# HELP tachyon:{} {}\n# TYPE tachyon:{} histogram\n", name, help, name);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < h.bounds.size(); ++i) {
    cumulative += h.counts[i];
    s += fmt::format("tachyon:{}_bucket{{le=\"{}\"}} {}\n", name, h.bounds[i], cumulative);
  }
  s += fmt::format("tachyon:{}_bucket{{le=\"+Inf\"}} {}\ntachyon:{}_sum {}\ntachyon:{}_count {}\n", name, h.count, name,
                   h.sum, name, h.count);
}
}  // namespace

void RunMetrics::write_prometheus() {
  const RunCounters& c = counters;
  std::string s;
  metric(s, "num_requests_running", "gauge", "Sequences in KV slots now.", static_cast<double>(c.running));
  metric(s, "kv_cache_usage_perc", "gauge", "Fraction of KV cache positions in use (1 = full).", c.kv_usage);
  s += "# HELP tachyon:request_success_total Requests answered with a result, by the finish reason (of their first sample).\n"
       "# TYPE tachyon:request_success_total counter\n";
  s += fmt::format("tachyon:request_success_total{{finished_reason=\"stop\"}} {}\n", c.finished_stop);
  s += fmt::format("tachyon:request_success_total{{finished_reason=\"length\"}} {}\n", c.finished_length);
  metric(s, "request_errors_total", "counter", "Requests answered with an error line.", static_cast<double>(c.errors));
  metric(s, "requests_resumed_total", "counter", "Requests already in the output file (--resume).", static_cast<double>(c.resumed));
  metric(s, "prompt_tokens_total", "counter", "Prompt tokens of finished requests.", static_cast<double>(c.prompt_tokens));
  metric(s, "generation_tokens_total", "counter", "Generated tokens.", static_cast<double>(c.completion_tokens));
  metric(s, "steps_total", "counter", "Target model steps (verify passes over the batch).", static_cast<double>(c.steps));
  metric(s, "spec_decode_num_drafts_total", "counter", "Speculative blocks drafted.", static_cast<double>(c.drafts));
  metric(s, "spec_decode_num_draft_tokens_total", "counter", "Draft tokens proposed.", static_cast<double>(c.draft_tokens));
  metric(s, "spec_decode_num_accepted_tokens_total", "counter", "Draft tokens accepted.", static_cast<double>(c.accepted_tokens));
  histogram(s, "time_to_first_token_seconds", "Time from admission to the first token.", prom_ttft_);
  histogram(s, "time_per_output_token_seconds", "Mean time per output token after the first, per request.", prom_tpot_);
  histogram(s, "e2e_request_latency_seconds", "Time from reading a request to writing its result.", prom_e2e_);
  const std::string tmp = o_.prometheus_path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    f << s;
    if (!f.good()) {
      spdlog::warn("--prometheus-file: cannot write '{}'", tmp);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, o_.prometheus_path, ec);
  if (ec) spdlog::warn("--prometheus-file: cannot rename '{}' to '{}': {}", tmp, o_.prometheus_path, ec.message());
}

void RunMetrics::finish(double wall_seconds, const json& extra) {
  poll(/*force=*/true);
  if (o_.json_path.empty()) return;
  partial_.close();
  const RunCounters& c = counters;
  json a;
  a["requests"] = c.requests;
  a["finished"] = c.finished;
  a["errors"] = c.errors;
  a["resumed"] = c.resumed;
  a["prompt_tokens"] = c.prompt_tokens;
  a["completion_tokens"] = c.completion_tokens;
  a["wall_s"] = wall_seconds;
  a["requests_per_s"] = wall_seconds > 0 ? static_cast<double>(c.finished + c.errors) / wall_seconds : 0.0;
  a["output_tokens_per_s"] = wall_seconds > 0 ? static_cast<double>(c.completion_tokens) / wall_seconds : 0.0;
  a["total_tokens_per_s"] =
      wall_seconds > 0 ? static_cast<double>(c.completion_tokens + c.prompt_tokens) / wall_seconds : 0.0;
  a["ttft_ms"] = ttft_.summary();
  a["tpot_ms"] = tpot_.summary();
  a["e2e_ms"] = e2e_.summary();
  a["queue_ms"] = queue_.summary();
  a["acceptance_length"] = c.acceptance_length();
  a["steps"] = c.steps;
  a["spec_decode"] = {{"drafts", c.drafts}, {"draft_tokens", c.draft_tokens}, {"accepted_tokens", c.accepted_tokens}};
  a["peak_rss_mib"] = peak_rss_mib();
  for (auto it = extra.begin(); it != extra.end(); ++it) a[it.key()] = it.value();
  // Assemble: the aggregate, then the streamed records as one array, copied line by line.
  const std::string tmp = o_.json_path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    TACHYON_REQUIRE(out.good(), "--metrics-json: cannot write '{}'", tmp);
    out << "{\"aggregate\": " << a.dump(-1, ' ', false, json::error_handler_t::replace) << ",\n \"requests\": [";
    std::ifstream in(o_.json_path + ".partial", std::ios::binary);
    bool first = true;
    for (std::string line; std::getline(in, line);) {
      out << (first ? "\n  " : ",\n  ") << line;
      first = false;
    }
    out << "\n]}\n";
    TACHYON_REQUIRE(out.good(), "--metrics-json: writing '{}' failed", tmp);
  }
  std::filesystem::rename(tmp, o_.json_path);
  std::filesystem::remove(o_.json_path + ".partial");
}

}  // namespace tachyon
