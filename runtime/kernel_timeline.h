// What each kind of kernel costs a step, from the GPU's own start and end times of every kernel
// (runtime/cuda/kernel_trace.h records them with CUPTI; `tachyon bench step --timeline`).
//
// Why not the kernels' durations: with programmatic dependent launch a kernel starts (its CTAs are
// resident, waiting) while the kernel before it still runs, so end - start overstates it, and dropping a
// kernel from the step measures what its absence changes, not what it costs (docs/benchmarks.md, session
// 7). The critical increment does not double count: walk the step's kernels in start order, keeping the
// latest end seen so far (the frontier); each kernel is charged by how far its end moves the frontier.
// The increments sum to the step's makespan (first start to last end), and a kernel that finishes
// inside another's shadow costs nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace tachyon {

struct KernelRecord {
  std::string name;  // as the driver reports it (mangled C++ names are shortened by kernel_kind)
  uint64_t start_ns = 0, end_ns = 0;
};

// The host's view of one step: the records of kernels that started in [begin_ns, end_ns) belong to it.
struct StepWindow {
  uint64_t begin_ns = 0, end_ns = 0;
};

struct TimelineEntry {
  std::string kind;
  double start_us = 0, end_us = 0;  // from the step's first kernel start
  double critical_us = 0;           // how far this kernel's end moved the step's frontier
};

struct KernelKindCost {
  std::string kind;
  int launches = 0;          // per step
  double critical_us = 0;    // median over steps of the kind's summed critical increments
  double busy_us = 0;        // median over steps of the kind's summed end - start (overlaps included)
};

struct TimelineSummary {
  int steps = 0;
  int kernels_per_step = 0;
  double makespan_us = 0;  // median first start to last end
  double window_us = 0;    // median host window (metadata upload, replay, argmax back)
  std::vector<KernelKindCost> kinds;         // by critical_us, largest first
  std::vector<TimelineEntry> median_step;    // every kernel of the step whose makespan is the median
};

// A readable kind for a kernel name: demangled, without its return type, namespaces and parameter list
// (template arguments stay: they tell an expert GEMM's gate_up from its down).
std::string kernel_kind(const std::string& name);

// The kernels of one step in start order, each with its critical increment.
std::vector<TimelineEntry> step_timeline(std::vector<KernelRecord> kernels);

// Splits `records` into `windows` and summarizes them. Every window must hold the same sequence of
// kernel kinds (a replayed graph does); throws Error naming the first step that differs.
TimelineSummary summarize_timeline(const std::vector<KernelRecord>& records, const std::vector<StepWindow>& windows);

// A markdown table of summary.kinds with the totals, for the bench report.
std::string timeline_markdown(const TimelineSummary& summary);

// One traced step shape of a bench run.
struct ShapeTimeline {
  std::string shape;  // e.g. "1 x 8" (seqs x tokens)
  TimelineSummary summary;
};

// A bench run's timelines as one JSON document: the device, date and model, and per shape the summary,
// the kinds and the median step's kernels (kind, start, end, critical increment).
std::string timelines_json(const std::vector<ShapeTimeline>& shapes, const std::string& device, const std::string& date,
                           const std::string& model);

}  // namespace tachyon
