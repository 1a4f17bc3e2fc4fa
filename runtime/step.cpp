#include "runtime/step.h"

#include "model/error.h"

namespace tachyon {

int StepBatch::logit_rows() const {
  int rows = 0;
  for (const auto& s : seqs) rows += s.count - s.logits_from;
  return rows;
}

std::vector<int32_t> StepBatch::serialize() const {
  std::vector<int32_t> w;
  w.reserve(2 + 4 * seqs.size() + tokens.size());
  w.push_back(static_cast<int32_t>(seqs.size()));
  w.push_back(static_cast<int32_t>(tokens.size()));
  for (const auto& s : seqs) w.insert(w.end(), {s.slot, s.start, s.count, s.logits_from});
  w.insert(w.end(), tokens.begin(), tokens.end());
  return w;
}

StepBatch StepBatch::deserialize(const std::vector<int32_t>& w) {
  TACHYON_CHECK(w.size() >= 2, "step batch of {} words", w.size());
  StepBatch b;
  const size_t n = static_cast<size_t>(w[0]), t = static_cast<size_t>(w[1]);
  TACHYON_CHECK(w.size() == 2 + 4 * n + t, "step batch size {} for {} sequences and {} tokens", w.size(), n, t);
  for (size_t i = 0; i < n; ++i) b.seqs.push_back({w[2 + 4 * i], w[3 + 4 * i], w[4 + 4 * i], w[5 + 4 * i]});
  b.tokens.assign(w.begin() + 2 + 4 * n, w.end());
  return b;
}

}  // namespace tachyon
