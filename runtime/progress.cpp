#include "runtime/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <mutex>

#include "model/error.h"

namespace tachyon {

ProgressMode parse_progress_mode(const std::string& name) {
  if (name == "auto") return ProgressMode::Auto;
  if (name == "bar") return ProgressMode::Bar;
  if (name == "log") return ProgressMode::Log;
  if (name == "off") return ProgressMode::Off;
  throw Error(fmt::format("--progress '{}': expected auto, bar, log or off", name));
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const auto s = static_cast<uint64_t>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

namespace {
double rate(uint64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; }
std::string eta(const ProgressSnapshot& s) {
  if (!s.total || s.done_this_run == 0 || s.elapsed_s <= 0) return "?";
  const double left = static_cast<double>(*s.total > s.done ? *s.total - s.done : 0);
  return format_duration(left / rate(s.done_this_run, s.elapsed_s));
}
}  // namespace

std::string ProgressReporter::bar_text(const ProgressSnapshot& s, int width) {
  std::string head;
  if (s.total && *s.total > 0) {
    const double frac = std::min(1.0, static_cast<double>(s.done) / static_cast<double>(*s.total));
    const int filled = static_cast<int>(frac * width);
    head = fmt::format("generate {:3.0f}%|{}{}| {}/{} [{}<{}", frac * 100, std::string(filled, '#'),
                       std::string(width - filled, ' '), s.done, *s.total, format_duration(s.elapsed_s), eta(s));
  } else {
    head = fmt::format("generate {} done [{}", s.done, format_duration(s.elapsed_s));
  }
  std::string tail = fmt::format(", {:.1f} req/s, out {:.0f} tok/s", rate(s.done_this_run, s.elapsed_s),
                                 rate(s.completion_tokens, s.elapsed_s));
  if (s.speculative) tail += fmt::format(", acc {:.2f}", s.acceptance_length);
  tail += fmt::format(", {} running", s.running);
  if (s.errors) tail += fmt::format(", {} errors", s.errors);
  return head + tail + "]";
}

std::string ProgressReporter::log_text(const ProgressSnapshot& s) {
  std::string t = s.total ? fmt::format("progress: {}/{} requests ({:.1f}%)", s.done, *s.total,
                                        *s.total ? 100.0 * static_cast<double>(s.done) / static_cast<double>(*s.total) : 100.0)
                          : fmt::format("progress: {} requests", s.done);
  t += fmt::format(", {} errors, {} running | {:.1f} req/s, {:.0f} input tok/s, {:.0f} output tok/s", s.errors, s.running,
                   rate(s.done_this_run, s.elapsed_s), rate(s.prompt_tokens, s.elapsed_s),
                   rate(s.completion_tokens, s.elapsed_s));
  if (s.speculative) t += fmt::format(" | acceptance length {:.2f}", s.acceptance_length);
  t += fmt::format(" | elapsed {}, ETA {}", format_duration(s.elapsed_s), eta(s));
  return t;
}

namespace {
// Passes log lines to the logger's own sinks, first clearing the bar's line when one is drawn.
class BarAwareSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  BarAwareSink(std::vector<spdlog::sink_ptr> inner, std::shared_ptr<std::atomic<bool>> drawn)
      : inner_(std::move(inner)), drawn_(std::move(drawn)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    if (drawn_->exchange(false)) std::fputs("\r\033[K", stderr);
    for (auto& s : inner_)
      if (s->should_log(msg.level)) s->log(msg);
  }
  void flush_() override {
    for (auto& s : inner_) s->flush();
  }

 private:
  std::vector<spdlog::sink_ptr> inner_;
  std::shared_ptr<std::atomic<bool>> drawn_;
};
}  // namespace

ProgressReporter::ProgressReporter(ProgressMode mode, double log_interval_s) : mode_(mode), interval_s_(log_interval_s) {
  if (mode_ == ProgressMode::Auto) mode_ = ::isatty(STDERR_FILENO) ? ProgressMode::Bar : ProgressMode::Log;
  if (mode_ == ProgressMode::Bar) {
    interval_s_ = 0.2;
    auto logger = spdlog::default_logger();
    saved_sinks_ = logger->sinks();
    logger->sinks() = {std::make_shared<BarAwareSink>(saved_sinks_, drawn_)};
  }
  if (mode_ == ProgressMode::Log) last_ = 0.0;  // the first log line after one interval, not at the start
}

ProgressReporter::~ProgressReporter() {
  if (drawn_->exchange(false)) std::fputc('\n', stderr);
  if (!saved_sinks_.empty()) spdlog::default_logger()->sinks() = saved_sinks_;
}

void ProgressReporter::update(const ProgressSnapshot& s) {
  if (mode_ == ProgressMode::Off || s.elapsed_s - last_ < interval_s_) return;
  last_ = s.elapsed_s;
  if (mode_ == ProgressMode::Bar) {
    std::fprintf(stderr, "\r\033[K%s", bar_text(s, 24).c_str());
    std::fflush(stderr);
    *drawn_ = true;
  } else {
    spdlog::info("{}", log_text(s));
  }
}

void ProgressReporter::finish(const ProgressSnapshot& s) {
  if (mode_ == ProgressMode::Off) return;
  last_ = -1e9;
  update(s);
  if (drawn_->exchange(false)) std::fputc('\n', stderr);
}

}  // namespace tachyon
