#include "runtime/bench_report.h"

#include <fmt/format.h>

#include <ctime>
#include <nlohmann/json.hpp>

namespace tachyon {

std::string today() {
  const std::time_t t = std::time(nullptr);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", std::gmtime(&t));
  return buf;
}

std::string BenchReport::markdown() const {
  std::string out = fmt::format("{} ({}), copy bandwidth {:.0f} GB/s (read + write, measured in this run)\n\n", device,
                                date, copy_gbs);
  out += "| kernel | model | shape | median us | GB/s | % of copy |\n|---|---|---|---|---|---|\n";
  for (const BenchRow& r : rows) {
    const double gbs = r.bytes / (r.median_us * 1e-6) / 1e9;
    out += fmt::format("| {} | {} | {} | {:.1f} | {:.0f} | {:.0f}% |\n", r.kernel, r.model, r.shape, r.median_us, gbs,
                       100.0 * gbs / copy_gbs);
  }
  return out;
}

std::string BenchReport::json() const {
  nlohmann::json j;
  j["device"] = device;
  j["date"] = date;
  j["copy_gbs"] = copy_gbs;
  for (const BenchRow& r : rows) {
    const double gbs = r.bytes / (r.median_us * 1e-6) / 1e9;
    j["rows"].push_back({{"kernel", r.kernel}, {"model", r.model}, {"shape", r.shape}, {"bytes", r.bytes},
                         {"median_us", r.median_us}, {"gbs", gbs}, {"fraction_of_copy", gbs / copy_gbs}});
  }
  return j.dump(2);
}

}  // namespace tachyon
