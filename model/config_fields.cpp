#include "model/config_fields.h"

#include "model/error.h"

namespace tachyon {

using nlohmann::json;

ConfigFields::ConfigFields(const json& object, std::string where) : object_(object), where_(std::move(where)) {
  TACHYON_REQUIRE(object_.is_object(), "{}: expected a JSON object", where_);
}

bool ConfigFields::has(const std::string& name) const {
  auto it = object_.find(name);
  return it != object_.end() && !it->is_null();
}

void ConfigFields::fail(const std::string& name, const std::string& problem) const {
  throw Error(fmt::format("{}: field '{}': {}", where_, name, problem));
}

const json* ConfigFields::get_raw(const std::string& name) {
  consumed_.insert(name);
  auto it = object_.find(name);
  if (it == object_.end() || it->is_null()) return nullptr;
  return &*it;
}

int64_t ConfigFields::get_int(const std::string& name, int64_t fallback) {
  const json* v = get_raw(name);
  if (!v) return fallback;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float() && v->get<double>() == static_cast<double>(static_cast<int64_t>(v->get<double>())))
    return static_cast<int64_t>(v->get<double>());
  fail(name, fmt::format("expected an integer, got {}", v->dump()));
}

int64_t ConfigFields::require_int(const std::string& name) {
  if (!has(name)) fail(name, "required but missing");
  return get_int(name, 0);
}

double ConfigFields::get_double(const std::string& name, double fallback) {
  const json* v = get_raw(name);
  if (!v) return fallback;
  if (v->is_number()) return v->get<double>();
  fail(name, fmt::format("expected a number, got {}", v->dump()));
}

double ConfigFields::require_double(const std::string& name) {
  if (!has(name)) fail(name, "required but missing");
  return get_double(name, 0.0);
}

bool ConfigFields::get_bool(const std::string& name, bool fallback) {
  const json* v = get_raw(name);
  if (!v) return fallback;
  if (v->is_boolean()) return v->get<bool>();
  fail(name, fmt::format("expected true or false, got {}", v->dump()));
}

std::string ConfigFields::get_string(const std::string& name, const std::string& fallback) {
  const json* v = get_raw(name);
  if (!v) return fallback;
  if (v->is_string()) return v->get<std::string>();
  fail(name, fmt::format("expected a string, got {}", v->dump()));
}

std::vector<int64_t> ConfigFields::get_int_list(const std::string& name) {
  const json* v = get_raw(name);
  if (!v) return {};
  if (v->is_number_integer()) return {v->get<int64_t>()};
  if (!v->is_array()) fail(name, fmt::format("expected a list of integers, got {}", v->dump()));
  std::vector<int64_t> out;
  for (const auto& x : *v) {
    if (!x.is_number_integer()) fail(name, fmt::format("expected a list of integers, found {}", x.dump()));
    out.push_back(x.get<int64_t>());
  }
  return out;
}

std::vector<std::string> ConfigFields::get_string_list(const std::string& name) {
  const json* v = get_raw(name);
  if (!v) return {};
  if (!v->is_array()) fail(name, fmt::format("expected a list of strings, got {}", v->dump()));
  std::vector<std::string> out;
  for (const auto& x : *v) {
    if (!x.is_string()) fail(name, fmt::format("expected a list of strings, found {}", x.dump()));
    out.push_back(x.get<std::string>());
  }
  return out;
}

void ConfigFields::ignore(std::initializer_list<const char*> names) {
  for (const char* n : names) consumed_.insert(n);
}

void ConfigFields::finish() const {
  for (auto it = object_.begin(); it != object_.end(); ++it) {
    if (consumed_.count(it.key())) continue;
    throw Error(fmt::format("{}: unknown field '{}' (value {}); Tachyon does not know what it does to the model, "
                            "so it refuses to guess. If it is harmless, remove it from the config.",
                            where_, it.key(), it.value().dump()));
  }
}

}  // namespace tachyon
