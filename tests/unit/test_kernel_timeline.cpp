// The kernel timeline of `tachyon bench step --timeline` (runtime/kernel_timeline.h): readable kernel
// kinds from mangled names, critical-path increments that sum to the makespan without double counting
// overlapped kernels, and the per-kind summary over several traced steps.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "model/error.h"
#include "runtime/kernel_timeline.h"

using namespace tachyon;

namespace {

// Real mangled names (g++ -c of the same declarations).
const char* kGateUp = "_ZN7tachyon4cuda10moe_detail14moe_mma_kernelILi1ELb1EEEvNS1_13MoeGemmParamsE";
const char* kNorm = "_ZN7tachyon4cuda12_GLOBAL__N_111norm_kernelEPKfPfi";
const char* kLinear = "_ZN7tachyon4cuda13linear_kernelEv";

// A step of three kernels starting at `t` ns: norm [t, t+2000), linear launched early (PDL) at t+500 and
// ending t+5000, and a norm inside the linear's shadow [t+1000, t+3000) that adds nothing.
std::vector<KernelRecord> step_at(uint64_t t, uint64_t linear_end = 5000) {
  return {{kLinear, t + 500, t + linear_end}, {kNorm, t, t + 2000}, {kNorm, t + 1000, t + 3000}};
}

}  // namespace

TEST_CASE("kernel kinds: demangled, without return type, namespaces or parameters; template arguments kept") {
  CHECK(kernel_kind(kGateUp) == "moe_mma_kernel<1, true>");
  CHECK(kernel_kind(kNorm) == "norm_kernel");
  CHECK(kernel_kind(kLinear) == "linear_kernel");
  CHECK(kernel_kind("plain_c_kernel") == "plain_c_kernel");
}

TEST_CASE("step timeline: kernels in start order, critical increments sum to the makespan") {
  const std::vector<TimelineEntry> t = step_timeline(step_at(1'000'000));
  REQUIRE(t.size() == 3);
  CHECK(t[0].kind == "norm_kernel");
  CHECK(t[0].start_us == 0.0);
  CHECK(t[0].critical_us == doctest::Approx(2.0));
  CHECK(t[1].kind == "linear_kernel");
  CHECK(t[1].start_us == doctest::Approx(0.5));
  CHECK(t[1].critical_us == doctest::Approx(3.0));  // from the norm's end (2 us) to its own (5 us)
  CHECK(t[2].critical_us == 0.0);                   // ends inside the linear
  double sum = 0;
  for (const TimelineEntry& e : t) sum += e.critical_us;
  CHECK(sum == doctest::Approx(5.0));
}

TEST_CASE("timeline summary: per-kind medians over steps, kinds by cost, the median step kept") {
  std::vector<KernelRecord> records;
  std::vector<StepWindow> windows;
  const uint64_t linear_end[3] = {5000, 9000, 6000};  // makespans 5, 9 and 6 us: the median step is the third
  for (int s = 0; s < 3; ++s) {
    const uint64_t t = 1'000'000 * (s + 1);
    for (const KernelRecord& r : step_at(t, linear_end[s])) records.push_back(r);
    windows.push_back({t - 100, t + 20'000});
  }
  records.push_back({kLinear, 10'000'000, 10'001'000});  // outside every window: ignored

  const TimelineSummary sum = summarize_timeline(records, windows);
  CHECK(sum.steps == 3);
  CHECK(sum.kernels_per_step == 3);
  CHECK(sum.makespan_us == doctest::Approx(6.0));
  CHECK(sum.window_us == doctest::Approx(20.1));
  REQUIRE(sum.kinds.size() == 2);
  CHECK(sum.kinds[0].kind == "linear_kernel");  // critical 3, 7, 4 us: median 4
  CHECK(sum.kinds[0].launches == 1);
  CHECK(sum.kinds[0].critical_us == doctest::Approx(4.0));
  CHECK(sum.kinds[1].kind == "norm_kernel");
  CHECK(sum.kinds[1].launches == 2);
  CHECK(sum.kinds[1].critical_us == doctest::Approx(2.0));
  CHECK(sum.kinds[1].busy_us == doctest::Approx(4.0));
  REQUIRE(sum.median_step.size() == 3);
  CHECK(sum.median_step[1].end_us == doctest::Approx(6.0));

  const nlohmann::json doc = nlohmann::json::parse(timelines_json({{"1 x 1", sum}}, "H200", "2026-11-21", "tiny"));
  CHECK(doc["device"] == "H200");
  CHECK(doc["model"] == "tiny");
  REQUIRE(doc["shapes"].size() == 1);
  CHECK(doc["shapes"][0]["shape"] == "1 x 1");
  const nlohmann::json& j = doc["shapes"][0]["timeline"];
  CHECK(j["kernels_per_step"] == 3);
  CHECK(j["median_step"].size() == 3);
  CHECK(j["median_step"][1]["end_us"] == doctest::Approx(6.0));
  CHECK(j["kinds"][0]["kind"] == "linear_kernel");
  const std::string md = timeline_markdown(sum);
  CHECK(md.find("| linear_kernel | 1 | 4.0 | 4.00 |") != std::string::npos);
  CHECK(md.find("| (sum of medians) | 3 | 6.0 |") != std::string::npos);
}

TEST_CASE("timeline summary: steps that ran different kernels are an error, not a silent mix") {
  std::vector<KernelRecord> records = step_at(1'000'000);
  std::vector<KernelRecord> second = step_at(2'000'000);
  second.pop_back();
  records.insert(records.end(), second.begin(), second.end());
  const std::vector<StepWindow> windows = {{1'000'000, 1'500'000}, {2'000'000, 2'500'000}};
  CHECK_THROWS_WITH_AS(summarize_timeline(records, windows), doctest::Contains("step 1 ran 2 kernels, step 0 ran 3"), Error);
  CHECK_THROWS_AS(summarize_timeline(records, {}), Error);
}
