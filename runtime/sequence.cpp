#include "runtime/sequence.h"

namespace tachyon {

using nlohmann::json;

namespace {
double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }
}  // namespace

std::string result_json(const ActiveSequence& s, bool with_text) {
  const size_t n = s.output.size();
  json j;
  j["id"] = s.request.id;
  if (with_text) j["text"] = s.text;
  j["token_ids"] = s.output;
  j["finish_reason"] = s.finish_reason;
  if (!s.stop_reason.is_null()) j["stop_reason"] = s.stop_reason;
  j["usage"] = {{"prompt_tokens", s.prompt_len()}, {"completion_tokens", n}};
  json m;
  m["queue_ms"] = ms(s.admitted - s.queued);
  m["ttft_ms"] = ms(s.first_token - s.admitted);
  m["tpot_ms"] = n > 1 ? ms(s.finished - s.first_token) / static_cast<double>(n - 1) : 0.0;
  m["accept_len"] = s.target_passes > 0 ? static_cast<double>(n) / s.target_passes : 0.0;
  j["metrics"] = std::move(m);
  if (!s.request.warnings.empty()) j["warnings"] = s.request.warnings;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string error_json(const json& id, const std::string& message) {
  json j;
  j["id"] = id;
  j["error"] = message;
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace tachyon
