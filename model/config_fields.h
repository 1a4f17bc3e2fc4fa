// Typed, tracked access to the fields of a JSON config object. Every field read is marked consumed;
// finish() then rejects any field nobody read, so that an unsupported option is an error naming the
// field instead of a silent change of the model's math.
#pragma once

#include <nlohmann/json.hpp>

#include <set>
#include <string>
#include <vector>

namespace tachyon {

class ConfigFields {
 public:
  // `where` names the object in messages, e.g. "config.json" or "config.json: rope_parameters".
  ConfigFields(const nlohmann::json& object, std::string where);

  bool has(const std::string& name) const;  // present and not null
  const std::string& where() const { return where_; }

  int64_t get_int(const std::string& name, int64_t fallback);
  int64_t require_int(const std::string& name);
  double get_double(const std::string& name, double fallback);
  double require_double(const std::string& name);
  bool get_bool(const std::string& name, bool fallback);
  std::string get_string(const std::string& name, const std::string& fallback);
  std::vector<int64_t> get_int_list(const std::string& name);  // [] when absent; a scalar becomes [x]
  std::vector<std::string> get_string_list(const std::string& name);
  // The raw value (marks it consumed); nullptr when absent or null.
  const nlohmann::json* get_raw(const std::string& name);

  // Marks fields as known and deliberately without effect on inference (training knobs, metadata).
  void ignore(std::initializer_list<const char*> names);
  // Throws naming the first field that was neither read nor ignored.
  void finish() const;

  [[noreturn]] void fail(const std::string& name, const std::string& problem) const;

 private:
  const nlohmann::json& object_;
  std::string where_;
  std::set<std::string> consumed_;
};

}  // namespace tachyon
