// The report of `tachyon bench`: every row with the device, the date and the roofline it is judged
// against, printed as a markdown table (for docs/benchmarks.md) and written as JSON (results/).
#pragma once

#include <string>
#include <vector>

namespace tachyon {

struct BenchRow {
  std::string kernel, model, shape;
  double bytes = 0;       // the least bytes the work must move
  double median_us = 0;   // median over repetitions
};

// One whole target step (`tachyon bench step`): its median time against the DESIGN.md section 6 roofline
// of the rank that was slowest.
struct StepBenchRow {
  std::string model;           // the shape preset, e.g. "qwen3-30b-a3b"
  int ranks = 1;               // GPUs that ran it
  int slice_of = 1;            // each rank holds 1/slice_of of the model (the deployment's share)
  std::string moe;             // "ep" or "tp"
  int seqs = 1, tokens_per_seq = 1, context = 0;
  bool graphs = true;
  double experts_touched = 0;  // distinct local experts the step touched, summed over layers (counted)
  double experts_expected = 0; // the same for uniform random routing
  double dense_bytes = 0, expert_bytes = 0, kv_bytes = 0;
  double comm_us = 0;          // the step's collectives alone through NCCL, measured
  double peer_us = 0;          // as many all-reduces through the fused peer kernel (with its add + norm); 0: not run
  double median_us = 0;        // host-observed step (metadata upload, graph replay, results back)

  double bytes() const { return dense_bytes + expert_bytes + kv_bytes; }
  double comm_floor_us() const;  // the roofline's communication floor
  double roofline_us(double copy_gbs) const;
  double tokens_per_s() const { return seqs * tokens_per_seq / (median_us * 1e-6); }
};

struct BenchReport {
  std::string device;       // e.g. "NVIDIA H200"
  std::string date;         // YYYY-MM-DD
  double copy_gbs = 0;      // device-to-device copy, read + write, measured in the same run
  std::vector<BenchRow> rows;
  std::vector<StepBenchRow> steps;

  // | kernel | model | shape | us | GB/s | % of copy |, then
  // | model | ranks | seqs x tokens | context | median us | tokens/s | roofline us | x roofline |
  std::string markdown() const;
  std::string json() const;
};

std::string today();

}  // namespace tachyon
