#include "runtime/sequence.h"

#include <algorithm>

namespace tachyon {

using nlohmann::json;

size_t RequestGroup::completion_tokens() const {
  size_t n = 0;
  for (const auto& s : samples) n += s.output.size();
  return n;
}

int RequestGroup::target_passes() const {
  int n = 0;
  for (const auto& s : samples) n += s.target_passes;
  return n;
}

double RequestGroup::accept_len() const {
  const int passes = target_passes();
  return passes > 0 ? static_cast<double>(completion_tokens()) / passes : 0.0;
}

void ActiveSequence::retire_into_group() {
  SampleResult& r = group->samples[sample];
  r.output = std::move(output);
  r.text = std::move(text);
  r.finish_reason = std::move(finish_reason);
  r.stop_reason = std::move(stop_reason);
  r.target_passes = target_passes;
  r.admitted = admitted;
  r.first_token = first_token;
  r.finished = finished;
  ++group->finished;
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

RequestTimings request_timings(const RequestGroup& g) {
  RequestTimings t;
  const SampleResult& s = g.samples.front();
  Clock::time_point last = s.finished;
  for (const auto& x : g.samples) last = std::max(last, x.finished);
  const size_t n = s.output.size();
  t.queue_ms = ms_between(g.queued, s.admitted);
  t.ttft_ms = ms_between(s.admitted, s.first_token);
  t.tpot_ms = n > 1 ? ms_between(s.first_token, s.finished) / static_cast<double>(n - 1) : 0.0;
  t.e2e_ms = ms_between(g.queued, last);
  return t;
}

namespace {
void sample_fields(json& j, const SampleResult& s, bool with_text) {
  if (with_text) j["text"] = s.text;
  j["token_ids"] = s.output;
  j["finish_reason"] = s.finish_reason;
  if (!s.stop_reason.is_null()) j["stop_reason"] = s.stop_reason;
}
}  // namespace

std::string result_json(const RequestGroup& g, bool with_text, bool timings) {
  json j;
  j["id"] = g.request.id;
  if (g.request.n == 1) {
    sample_fields(j, g.samples.front(), with_text);
  } else {
    json outputs = json::array();
    for (size_t i = 0; i < g.samples.size(); ++i) {
      json o;
      o["index"] = i;
      sample_fields(o, g.samples[i], with_text);
      outputs.push_back(std::move(o));
    }
    j["outputs"] = std::move(outputs);
  }
  j["usage"] = {{"prompt_tokens", g.prompt_len()}, {"completion_tokens", g.completion_tokens()}};
  json m;
  if (timings) {
    const RequestTimings t = request_timings(g);
    m["queue_ms"] = t.queue_ms;
    m["ttft_ms"] = t.ttft_ms;
    m["tpot_ms"] = t.tpot_ms;
  }
  m["accept_len"] = g.accept_len();
  j["metrics"] = std::move(m);
  if (!g.request.warnings.empty()) j["warnings"] = g.request.warnings;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string error_json(const json& id, const std::string& message) {
  json j;
  j["id"] = id;
  j["error"] = message;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace tachyon
