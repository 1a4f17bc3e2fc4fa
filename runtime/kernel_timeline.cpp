#include "runtime/kernel_timeline.h"

#include <cxxabi.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>

#include "model/error.h"
#include "model/median.h"

namespace tachyon {

namespace {

std::string demangle(const std::string& name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : name;
}

// The index of the '(' that opens the parameter list ending the name, or npos.
size_t parameter_list_start(const std::string& s) {
  if (s.empty() || s.back() != ')') return std::string::npos;
  int depth = 0;
  for (size_t i = s.size(); i-- > 0;) {
    if (s[i] == ')') ++depth;
    if (s[i] == '(' && --depth == 0) return i;
  }
  return std::string::npos;
}

constexpr double kNsPerUs = 1000.0;

}  // namespace

std::string kernel_kind(const std::string& name) {
  std::string s = demangle(name);
  if (const size_t p = parameter_list_start(s); p != std::string::npos && p > 0) s.resize(p);
  // A function template's demangled name begins with its return type (kernels return void).
  if (s.rfind("void ", 0) == 0) s.erase(0, 5);
  static const std::regex qualifier(R"((\(anonymous namespace\)|[A-Za-z_][A-Za-z0-9_]*)::)");
  return std::regex_replace(s, qualifier, "");
}

std::vector<TimelineEntry> step_timeline(std::vector<KernelRecord> kernels) {
  std::stable_sort(kernels.begin(), kernels.end(), [](const KernelRecord& a, const KernelRecord& b) {
    return a.start_ns != b.start_ns ? a.start_ns < b.start_ns : a.end_ns < b.end_ns;
  });
  std::vector<TimelineEntry> out;
  if (kernels.empty()) return out;
  const uint64_t t0 = kernels.front().start_ns;
  uint64_t frontier = t0;
  for (const KernelRecord& k : kernels) {
    TimelineEntry e;
    e.kind = kernel_kind(k.name);
    e.start_us = static_cast<double>(k.start_ns - t0) / kNsPerUs;
    e.end_us = static_cast<double>(k.end_ns - t0) / kNsPerUs;
    e.critical_us = k.end_ns > frontier ? static_cast<double>(k.end_ns - frontier) / kNsPerUs : 0.0;
    frontier = std::max(frontier, k.end_ns);
    out.push_back(std::move(e));
  }
  return out;
}

TimelineSummary summarize_timeline(const std::vector<KernelRecord>& records, const std::vector<StepWindow>& windows) {
  TACHYON_REQUIRE(!windows.empty(), "kernel timeline: no steps were traced");
  std::vector<std::vector<KernelRecord>> per_step(windows.size());
  for (const KernelRecord& r : records)
    for (size_t w = 0; w < windows.size(); ++w)
      if (r.start_ns >= windows[w].begin_ns && r.start_ns < windows[w].end_ns) {
        per_step[w].push_back(r);
        break;
      }

  std::vector<std::vector<TimelineEntry>> steps;
  std::vector<double> makespans, window_us;
  for (size_t w = 0; w < windows.size(); ++w) {
    steps.push_back(step_timeline(per_step[w]));
    const std::vector<TimelineEntry>& s = steps.back();
    TACHYON_REQUIRE(!s.empty(), "kernel timeline: traced step {} recorded no kernels", w);
    TACHYON_REQUIRE(s.size() == steps.front().size(),
                    "kernel timeline: traced step {} ran {} kernels, step 0 ran {} (a replayed step runs the same ones)", w,
                    s.size(), steps.front().size());
    double span = 0;
    for (const TimelineEntry& e : s) span = std::max(span, e.end_us);
    makespans.push_back(span);
    window_us.push_back(static_cast<double>(windows[w].end_ns - windows[w].begin_ns) / kNsPerUs);
  }

  TimelineSummary out;
  out.steps = static_cast<int>(steps.size());
  out.kernels_per_step = static_cast<int>(steps.front().size());
  out.makespan_us = median(makespans);
  out.window_us = median(window_us);
  // The step whose makespan is the median one, as the example timeline.
  for (size_t w = 0; w < steps.size(); ++w)
    if (makespans[w] == out.makespan_us) {
      out.median_step = steps[w];
      break;
    }

  // Per kind: launches per step (from step 0; kernels start in the same order in every step only up to
  // overlaps, so kinds are matched by name, not position) and per-step sums.
  std::map<std::string, size_t> index;
  struct Sums {
    int launches = 0;
    std::vector<double> critical, busy;
  };
  std::vector<std::pair<std::string, Sums>> kinds;
  for (size_t w = 0; w < steps.size(); ++w) {
    for (auto& [kind, sums] : kinds) {
      sums.critical.push_back(0);
      sums.busy.push_back(0);
    }
    for (const TimelineEntry& e : steps[w]) {
      auto it = index.find(e.kind);
      if (it == index.end()) {
        TACHYON_REQUIRE(w == 0, "kernel timeline: traced step {} ran a kernel step 0 did not: {}", w, e.kind);
        it = index.emplace(e.kind, kinds.size()).first;
        kinds.push_back({e.kind, Sums{0, {0.0}, {0.0}}});
      }
      Sums& s = kinds[it->second].second;
      if (w == 0) ++s.launches;
      s.critical.back() += e.critical_us;
      s.busy.back() += e.end_us - e.start_us;
    }
  }
  for (const auto& [kind, sums] : kinds)
    out.kinds.push_back({kind, sums.launches, median(sums.critical), median(sums.busy)});
  std::stable_sort(out.kinds.begin(), out.kinds.end(),
                   [](const KernelKindCost& a, const KernelKindCost& b) { return a.critical_us > b.critical_us; });
  return out;
}

std::string timeline_markdown(const TimelineSummary& s) {
  std::string out = fmt::format(
      "Kernel timeline (CUPTI, {} traced steps): {} kernels a step, makespan {:.1f} us (first start to last end), "
      "host window {:.1f} us; medians over the steps\n\n"
      "| kernel | launches | critical us | per launch | busy us (end - start, overlaps included) |\n|---|---|---|---|---|\n",
      s.steps, s.kernels_per_step, s.makespan_us, s.window_us);
  double critical = 0;
  for (const KernelKindCost& k : s.kinds) {
    out += fmt::format("| {} | {} | {:.1f} | {:.2f} | {:.1f} |\n", k.kind, k.launches, k.critical_us,
                       k.critical_us / k.launches, k.busy_us);
    critical += k.critical_us;
  }
  out += fmt::format("| (sum of medians) | {} | {:.1f} | | |\n", s.kernels_per_step, critical);
  return out;
}

std::string timelines_json(const std::vector<ShapeTimeline>& shapes, const std::string& device, const std::string& date,
                           const std::string& model) {
  nlohmann::json out = nlohmann::json::array();
  for (const ShapeTimeline& t : shapes) {
    const TimelineSummary& s = t.summary;
    nlohmann::json kernels = nlohmann::json::array();
    for (const TimelineEntry& e : s.median_step)
      kernels.push_back({{"kind", e.kind}, {"start_us", e.start_us}, {"end_us", e.end_us}, {"critical_us", e.critical_us}});
    nlohmann::json kinds = nlohmann::json::array();
    for (const KernelKindCost& k : s.kinds)
      kinds.push_back({{"kind", k.kind}, {"launches", k.launches}, {"critical_us", k.critical_us}, {"busy_us", k.busy_us}});
    out.push_back({{"shape", t.shape},
                   {"timeline",
                    {{"steps", s.steps},
                     {"kernels_per_step", s.kernels_per_step},
                     {"makespan_us", s.makespan_us},
                     {"window_us", s.window_us},
                     {"kinds", kinds},
                     {"median_step", kernels}}}});
  }
  return nlohmann::json{{"device", device}, {"date", date}, {"model", model}, {"shapes", out}}.dump(1);
}

}  // namespace tachyon
