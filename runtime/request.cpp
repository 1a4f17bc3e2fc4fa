#include "runtime/request.h"

#include <fmt/format.h>

#include <algorithm>

#include "model/tokenizer/utf8.h"
#include "runtime/rng.h"

namespace tachyon {

using nlohmann::json;

uint64_t derived_seed(uint64_t run_seed, size_t index) { return mix64(run_seed ^ mix64(index + 0x5eed)); }

uint64_t sample_seed(uint64_t seed, int32_t j) {
  return j == 0 ? seed : mix64(seed ^ mix64(static_cast<uint64_t>(j) * 0x9e3779b97f4a7c15ull + 0x5a3b1e));
}

void field_error(const std::string& field, const std::string& problem) {
  throw FieldError{fmt::format("field '{}': {}", field, problem)};
}

int64_t field_int(const json& v, const std::string& field) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>())))
    return static_cast<int64_t>(v.get<double>());
  field_error(field, fmt::format("expected an integer, got {}", v.dump()));
}

double field_number(const json& v, const std::string& field) {
  if (!v.is_number()) field_error(field, fmt::format("expected a number, got {}", v.dump()));
  return v.get<double>();
}

std::vector<int32_t> field_id_list(const json& v, const std::string& field) {
  if (!v.is_array()) field_error(field, fmt::format("expected a list of token ids, got {}", v.type_name()));
  std::vector<int32_t> ids;
  ids.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const int64_t id = field_int(v[i], fmt::format("{}[{}]", field, i));
    if (id < 0 || id > INT32_MAX) field_error(field, fmt::format("token id {} at position {} is negative or too large", id, i));
    ids.push_back(static_cast<int32_t>(id));
  }
  return ids;
}

bool parse_common_field(Request& r, const std::string& k, const json& v) {
  if (k == "max_tokens") {
    if (v.is_null()) return true;  // OpenAI bodies may say null: the run's default
    const int64_t n = field_int(v, k);
    if (n < 1 || n > INT32_MAX) field_error(k, fmt::format("must be at least 1, got {}", n));
    r.max_tokens = static_cast<int32_t>(n);
  } else if (k == "temperature") {
    if (v.is_null()) return true;
    const double t = field_number(v, k);
    if (!(t >= 0.0) || t > 100.0) field_error(k, fmt::format("must be in [0, 100], got {}", t));
    r.sampling.temperature = static_cast<float>(t);
  } else if (k == "top_p") {
    if (v.is_null()) return true;
    const double p = field_number(v, k);
    if (!(p > 0.0 && p <= 1.0)) field_error(k, fmt::format("must be in (0, 1], got {}", p));
    r.sampling.top_p = static_cast<float>(p);
  } else if (k == "top_k") {
    if (v.is_null()) return true;
    const int64_t n = field_int(v, k);
    if (n < -1 || n > INT32_MAX) field_error(k, fmt::format("must be -1 (off), 0 (off) or positive, got {}", n));
    r.sampling.top_k = static_cast<int32_t>(std::max<int64_t>(n, 0));
  } else if (k == "seed") {
    if (v.is_null()) return true;
    const int64_t s = field_int(v, k);
    if (s < 0) field_error(k, fmt::format("must be non-negative, got {}", s));
    r.sampling.seed = static_cast<uint64_t>(s);
  } else if (k == "stop") {
    if (v.is_string()) {
      r.stop.push_back(v.get<std::string>());
    } else if (v.is_array()) {
      for (const auto& s : v) {
        if (!s.is_string()) field_error(k, fmt::format("expected strings, found {}", s.dump()));
        r.stop.push_back(s.get<std::string>());
      }
    } else if (!v.is_null()) {
      field_error(k, fmt::format("expected a string or a list of strings, got {}", v.type_name()));
    }
    for (const auto& s : r.stop)
      if (s.empty()) field_error(k, "stop strings must not be empty");
  } else if (k == "stop_token_ids") {
    if (!v.is_null()) r.stop_token_ids = field_id_list(v, k);
  } else if (k == "ignore_eos") {
    if (!v.is_boolean()) field_error(k, fmt::format("expected true or false, got {}", v.dump()));
    r.ignore_eos = v.get<bool>();
  } else if (k == "n") {
    if (v.is_null()) return true;
    const int64_t n = field_int(v, k);
    // A bound keeps one line from occupying the whole batch for ever; best-of-N rarely needs more.
    if (n < 1 || n > 128) field_error(k, fmt::format("must be in [1, 128], got {}", n));
    r.n = static_cast<int32_t>(n);
  } else {
    return false;
  }
  return true;
}

namespace {

Request parse_object(const json& j, size_t index, const RequestDefaults& d) {
  Request r;
  r.index = index;
  r.max_tokens = d.max_tokens;
  r.sampling.seed = derived_seed(d.seed, index);
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const json& v = it.value();
    if (k == "id") {
      r.id = v;
    } else if (k == "prompt") {
      if (!v.is_string()) field_error(k, fmt::format("expected a string, got {}", v.type_name()));
      r.prompt_text = v.get<std::string>();
    } else if (k == "input_ids") {
      r.prompt_ids = field_id_list(v, k);
    } else if (!parse_common_field(r, k, v)) {
      r.warnings.push_back(fmt::format("unknown field '{}' ignored", k));
    }
  }
  if (r.prompt_text && !r.prompt_ids.empty()) field_error("prompt", "give either 'prompt' or 'input_ids', not both");
  if (!r.prompt_text && r.prompt_ids.empty()) {
    if (j.contains("input_ids")) field_error("input_ids", "is empty");
    field_error("prompt", "missing: give 'prompt' (text) or 'input_ids' (token ids)");
  }
  if (r.prompt_text && r.prompt_text->empty()) field_error("prompt", "is empty");
  return r;
}

}  // namespace

JsonLine parse_json_line(const std::string& line, const std::string& origin, const char* id_field) {
  JsonLine out;
  try {
    out.value = json::parse(line);
  } catch (const json::parse_error& e) {
    // A line that is not UTF-8 is not JSON either: say where the bad byte is.
    if (const size_t bad = utf8::find_invalid(line); bad != utf8::kValid) {
      std::string repaired;
      utf8::append_lossy(repaired, line, /*final=*/true);
      const json r = json::parse(repaired, nullptr, /*allow_exceptions=*/false);
      if (r.is_object() && r.contains(id_field)) out.id = r[id_field];
      out.error = fmt::format("{}: invalid UTF-8 at byte {} of the line (input files must be UTF-8)", origin, bad);
    } else {
      out.error = fmt::format("{}: not valid JSON: {}", origin, e.what());
    }
  }
  return out;
}

std::variant<Request, RequestError> parse_request_line(const std::string& line, size_t index, const std::string& origin,
                                                       const RequestDefaults& defaults) {
  json id = static_cast<int64_t>(index + 1);  // the line number when the request has no id
  JsonLine parsed = parse_json_line(line, origin, "id");
  if (!parsed.error.empty()) return RequestError{index, parsed.id.is_null() ? id : parsed.id, parsed.error};
  const json& j = parsed.value;
  if (!j.is_object()) return RequestError{index, id, fmt::format("{}: expected a JSON object, got {}", origin, j.type_name())};
  if (j.contains("id")) id = j["id"];
  try {
    Request r = parse_object(j, index, defaults);
    if (r.id.is_null()) r.id = id;
    return r;
  } catch (const FieldError& e) {
    return RequestError{index, id, fmt::format("{}: {}", origin, e.message)};
  }
}

}  // namespace tachyon
