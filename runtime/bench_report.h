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

struct BenchReport {
  std::string device;       // e.g. "NVIDIA H200"
  std::string date;         // YYYY-MM-DD
  double copy_gbs = 0;      // device-to-device copy, read + write, measured in the same run
  std::vector<BenchRow> rows;

  std::string markdown() const;     // | kernel | model | shape | us | GB/s | % of copy |
  std::string json() const;
};

std::string today();

}  // namespace tachyon
