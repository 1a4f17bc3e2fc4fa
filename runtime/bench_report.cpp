#include "runtime/bench_report.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <nlohmann/json.hpp>

#include "runtime/step_roofline.h"

namespace tachyon {

// One rank needs no communication: its (NCCL no-op) collectives are overhead, not a floor. With several,
// the floor is the faster of the two measured ways to all-reduce (NCCL's, the fused peer kernel's).
double StepBenchRow::comm_floor_us() const {
  if (ranks <= 1) return 0.0;
  return peer_us > 0 ? std::min(comm_us, peer_us) : comm_us;
}

double StepBenchRow::roofline_us(double copy_gbs) const { return tachyon::roofline_us(bytes(), copy_gbs, comm_floor_us()); }

std::string today() {
  const std::time_t t = std::time(nullptr);
  char buf[16];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d", std::gmtime(&t));
  return buf;
}

std::string BenchReport::markdown() const {
  std::string out = fmt::format("{} ({}), copy bandwidth {:.0f} GB/s (read + write, measured in this run)\n\n", device,
                                date, copy_gbs);
  if (!rows.empty()) out += "| kernel | model | shape | median us | GB/s | % of copy |\n|---|---|---|---|---|---|\n";
  for (const BenchRow& r : rows) {
    const double gbs = r.bytes / (r.median_us * 1e-6) / 1e9;
    out += fmt::format("| {} | {} | {} | {:.1f} | {:.0f} | {:.0f}% |\n", r.kernel, r.model, r.shape, r.median_us, gbs,
                       100.0 * gbs / copy_gbs);
  }
  if (!steps.empty())
    out += "| model | ranks (share) | moe | seqs x tokens | context | median us | tokens/s | experts touched "
           "(expected) | MB dense + experts + KV | comm us | peer all-reduces us | roofline us | x roofline |\n"
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const StepBenchRow& r : steps) {
    const double roof = r.roofline_us(copy_gbs);
    out += fmt::format("| {} | {} (1/{}) | {} | {} x {} | {} | {:.1f} | {:.0f} | {:.0f} ({:.0f}) | {:.0f} + {:.0f} + {:.0f} | "
                       "{:.1f} | {} | {:.1f} | {:.2f} |\n",
                       r.model, r.ranks, r.slice_of, r.moe, r.seqs, r.tokens_per_seq, r.context, r.median_us,
                       r.tokens_per_s(), r.experts_touched, r.experts_expected, r.dense_bytes / 1e6,
                       r.expert_bytes / 1e6, r.kv_bytes / 1e6, r.comm_us,
                       r.peer_us > 0 ? fmt::format("{:.1f}", r.peer_us) : std::string("-"), roof, r.median_us / roof);
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
  for (const StepBenchRow& r : steps) {
    const double roof = r.roofline_us(copy_gbs);
    j["steps"].push_back({{"model", r.model}, {"ranks", r.ranks}, {"slice_of", r.slice_of}, {"moe", r.moe},
                          {"seqs", r.seqs}, {"tokens_per_seq", r.tokens_per_seq}, {"context", r.context},
                          {"cuda_graphs", r.graphs}, {"experts_touched", r.experts_touched},
                          {"experts_expected", r.experts_expected}, {"dense_bytes", r.dense_bytes},
                          {"expert_bytes", r.expert_bytes}, {"kv_bytes", r.kv_bytes}, {"comm_us", r.comm_us},
                          {"peer_us", r.peer_us}, {"median_us", r.median_us}, {"tokens_per_s", r.tokens_per_s()}, {"roofline_us", roof},
                          {"x_roofline", r.median_us / roof}});
  }
  return j.dump(2);
}

}  // namespace tachyon
