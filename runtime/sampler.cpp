#include "runtime/sampler.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "model/error.h"
#include "runtime/rng.h"

namespace tachyon {

using comm::DType;
using comm::ReduceOp;

namespace {
constexpr int kFixedPointBits = 40;
constexpr int kRadixBits = 7;  // top-p threshold found 7 bits at a time: 6 rounds for 41-bit weights
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

}  // namespace

DistributedSampler::DistributedSampler(comm::Collectives& comm, Range vocab_slice) : comm_(comm), vocab_(vocab_slice) {
  TACHYON_REQUIRE(vocab_slice.end < (int64_t{1} << 23), "vocabulary of {} tokens is too large for exact sampling",
                  vocab_slice.end);
}

bool DistributedSampler::any_sampled(const std::vector<SamplingRow>& rows) {
  for (const auto& r : rows)
    if (!r.params.greedy()) return true;
  return false;
}

std::vector<int32_t> DistributedSampler::choose(const float* logits, const std::vector<SamplingRow>& rows) {
  std::vector<int32_t> ids = argmax(local_argmax(logits, rows.size()));
  if (any_sampled(rows)) {
    std::vector<int32_t> sampled = sample(logits, rows);
    for (size_t i = 0; i < rows.size(); ++i)
      if (!rows[i].params.greedy()) ids[i] = sampled[i];
  }
  return ids;
}

std::vector<int32_t> DistributedSampler::choose(const StepOutput& out, const std::vector<SamplingRow>& rows) {
  if (out.local_argmax.empty() || any_sampled(rows)) {
    TACHYON_CHECK(out.logits.size() >= rows.size() * static_cast<size_t>(vocab_.size()),
                  "sampling needs the logits on the host ({} floats for {} rows)", out.logits.size(), rows.size());
    return choose(out.logits.data(), rows);
  }
  TACHYON_CHECK(out.local_argmax.size() == rows.size(), "{} arg-max rows for {} rows", out.local_argmax.size(), rows.size());
  return argmax(out.local_argmax);
}

std::vector<LocalArgmax> DistributedSampler::local_argmax(const float* logits, size_t n) const {
  const size_t V = static_cast<size_t>(vocab_.size());
  std::vector<LocalArgmax> local(n, LocalArgmax{kNegInf, std::numeric_limits<int32_t>::max()});
  for (size_t r = 0; r < n; ++r)
    for (size_t v = 0; v < V; ++v)
      if (logits[r * V + v] > local[r].value) local[r] = {logits[r * V + v], static_cast<int32_t>(vocab_.begin + v)};
  return local;
}

std::vector<int32_t> DistributedSampler::argmax(const std::vector<LocalArgmax>& local) {
  const size_t n = local.size();
  const int world = comm_.size();
  std::vector<LocalArgmax> all(n * world);
  comm_.all_gather(local.data(), n * sizeof(LocalArgmax), DType::U8, all.data());
  std::vector<int32_t> ids(n);
  for (size_t r = 0; r < n; ++r) {
    LocalArgmax best{kNegInf, std::numeric_limits<int32_t>::max()};
    for (int k = 0; k < world; ++k) {
      const LocalArgmax& c = all[k * n + r];
      if (c.value > best.value || (c.value == best.value && c.id < best.id)) best = c;
    }
    ids[r] = best.id;
  }
  return ids;
}

std::vector<int32_t> DistributedSampler::sample(const float* logits, const std::vector<SamplingRow>& rows) {
  const size_t n = rows.size(), V = static_cast<size_t>(vocab_.size());
  const int world = comm_.size(), rank = comm_.rank();

  // 1. top-k: the k-th largest logit over all ranks is the lowest one kept.
  int32_t k_max = 0;
  for (const auto& r : rows) k_max = std::max(k_max, r.params.top_k);
  std::vector<float> threshold(n, kNegInf);
  if (k_max > 0) {
    std::vector<float> local(n * k_max, kNegInf), all(n * k_max * world);
    std::vector<float> sorted(V);
    for (size_t r = 0; r < n; ++r) {
      const int k = rows[r].params.top_k;
      if (k <= 0) continue;
      std::copy(logits + r * V, logits + (r + 1) * V, sorted.begin());
      const size_t take = std::min<size_t>(k, V);
      std::partial_sort(sorted.begin(), sorted.begin() + take, sorted.end(), std::greater<float>());
      std::copy(sorted.begin(), sorted.begin() + take, local.begin() + r * k_max);
    }
    comm_.all_gather(local.data(), local.size(), DType::F32, all.data());
    for (size_t r = 0; r < n; ++r) {
      const int k = rows[r].params.top_k;
      if (k <= 0) continue;
      std::vector<float> merged;
      for (int p = 0; p < world; ++p)
        merged.insert(merged.end(), all.begin() + (p * n + r) * k_max, all.begin() + (p * n + r + 1) * k_max);
      std::nth_element(merged.begin(), merged.begin() + (k - 1), merged.end(), std::greater<float>());
      threshold[r] = merged[k - 1];
    }
  }

  // 2. The maximum logit, then fixed-point weights of the kept tokens.
  std::vector<float> maxima(n, kNegInf);
  for (size_t r = 0; r < n; ++r)
    for (size_t v = 0; v < V; ++v) maxima[r] = std::max(maxima[r], logits[r * V + v]);
  comm_.all_reduce(maxima.data(), n, DType::F32, ReduceOp::Max);
  std::vector<uint64_t> q(n * V, 0), total(n, 0);
  for (size_t r = 0; r < n; ++r) {
    const double inv_t = 1.0 / rows[r].params.temperature;
    for (size_t v = 0; v < V; ++v) {
      const float l = logits[r * V + v];
      if (l < threshold[r] || rows[r].params.greedy()) continue;
      const double w = std::exp((static_cast<double>(l) - maxima[r]) * inv_t);
      q[r * V + v] = static_cast<uint64_t>(std::ldexp(w, kFixedPointBits));
      total[r] += q[r * V + v];
    }
  }
  comm_.all_reduce(total.data(), n, DType::U64, ReduceOp::Sum);

  // 3. top-p: the largest weight t such that the tokens weighing >= t carry at least top_p of the mass,
  //    found by a radix descent over the bits of t with one all-reduced histogram per round.
  std::vector<uint64_t> cut(n, 0);
  bool any_top_p = false;
  for (const auto& r : rows) any_top_p |= r.params.top_p < 1.0f && !r.params.greedy();
  if (any_top_p) {
    constexpr int kBins = 1 << kRadixBits;
    const int total_bits = kFixedPointBits + 1;  // weights are <= 2^40
    const int rounds = (total_bits + kRadixBits - 1) / kRadixBits;
    std::vector<uint64_t> target(n), above(n, 0), prefix(n, 0);
    for (size_t r = 0; r < n; ++r)
      target[r] = static_cast<uint64_t>(std::ceil(static_cast<long double>(rows[r].params.top_p) * total[r]));
    std::vector<uint64_t> hist(n * kBins);
    for (int round = 0; round < rounds; ++round) {
      const int shift = std::max(0, total_bits - (round + 1) * kRadixBits);
      const int width = total_bits - round * kRadixBits - shift;  // bits decided this round
      std::fill(hist.begin(), hist.end(), 0);
      for (size_t r = 0; r < n; ++r)
        for (size_t v = 0; v < V; ++v) {
          const uint64_t w = q[r * V + v];
          if (w == 0 || (w >> (shift + width)) != prefix[r]) continue;
          hist[r * kBins + ((w >> shift) & ((1u << width) - 1))] += w;
        }
      comm_.all_reduce(hist.data(), hist.size(), DType::U64, ReduceOp::Sum);
      for (size_t r = 0; r < n; ++r) {
        int chosen = 0;
        for (int b = (1 << width) - 1; b >= 0; --b) {
          if (above[r] + hist[r * kBins + b] >= target[r]) { chosen = b; break; }
          above[r] += hist[r * kBins + b];
        }
        prefix[r] = (prefix[r] << width) | static_cast<uint64_t>(chosen);
      }
    }
    for (size_t r = 0; r < n; ++r)
      if (rows[r].params.top_p < 1.0f) cut[r] = prefix[r];
  }

  // 4. One draw over the kept mass: find the rank, then the token, that the draw lands on.
  std::vector<uint64_t> kept(n, 0), kept_all(n * world);
  for (size_t r = 0; r < n; ++r)
    for (size_t v = 0; v < V; ++v)
      if (q[r * V + v] >= std::max<uint64_t>(cut[r], 1)) kept[r] += q[r * V + v];
  comm_.all_gather(kept.data(), n, DType::U64, kept_all.data());
  std::vector<int32_t> ids(n, -1);
  for (size_t r = 0; r < n; ++r) {
    if (rows[r].params.greedy()) continue;
    uint64_t mass = 0;
    for (int p = 0; p < world; ++p) mass += kept_all[p * n + r];
    TACHYON_CHECK(mass > 0, "no probability mass left in row {}", r);
    uint64_t before = 0;  // kept mass on lower ranks: the draw's offset into this rank's slice
    for (int p = 0; p < rank; ++p) before += kept_all[p * n + r];
    const uint64_t draw = random_below(rows[r].params.seed, rows[r].counter, mass);
    if (draw < before || draw >= before + kept[r]) continue;  // another rank holds the token
    uint64_t offset = draw - before;
    for (size_t v = 0; v < V; ++v) {
      const uint64_t w = q[r * V + v];
      if (w < std::max<uint64_t>(cut[r], 1)) continue;
      if (offset < w) { ids[r] = static_cast<int32_t>(vocab_.begin + v); break; }
      offset -= w;
    }
  }
  comm_.all_reduce(ids.data(), n, DType::I32, ReduceOp::Max);
  return ids;
}

}  // namespace tachyon
