// bench_moe_kernels (kernels/cuda/bench.h): moe_gate_up and moe_down at decode shapes of the big MoE
// models, MXFP4 and BF16 weights, 1..16 tokens per active expert over 32 active experts. Bytes = the
// touched experts' weights and scales (each once) + activations read + outputs written. Weights are
// random bits filled on the device (speed does not depend on the values, but zeros would flatter it),
// and enough copies are rotated that every launch streams them from HBM, not L2.
// Then the step's own shapes (bench_moe_step_shapes): one GPU's experts (the MiMo-V2.5-Pro tp slice, the whole
// Qwen3-30B-A3B) at 1 and 8 tokens, routed in-kernel as the step routes them.
// Driver: tests/gpu/test_moe.cpp "bench: moe" and `tachyon bench kernels --only moe`;
// TACHYON_MOE_BENCH_ONLY=<model prefix> limits the shapes (e.g. "MiMo-V2.5-Pro tp", "Qwen3-30B").
//
// Measured (H200, copy 4220 GB/s, 2026-11-21; fractions of the copy bandwidth, 1 -> 16 tokens/expert):
//   BF16  gate_up 70-99%, down 75-99% (memory-bound).
//   MXFP4 gate_up 40-65%, down 42-66%: bound by the decode's dependency chains, not by a pipe. ncu on
//   an earlier version: issue slots ~33% busy, ALU pipe ~32%, DRAM ~35-65%, stalls led by long/short
//   scoreboard and fixed-latency waits; ~2.8 instructions per weight element (3 per E2M1 pair + the
//   scale multiply + MMA/LDS). Tried: 8/12/16 warps per CTA, 2/3/4 loads in flight, one basic block
//   per round of loads vs per load; the default is the best of those (moe_gemm_launch.cuh).
#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/cuda/bench.h"
#include "kernels/cuda/bench_random.cuh"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/device_buffer.h"
#include "kernels/cuda/moe.h"

namespace tachyon::cuda {

namespace {

// kind 0: random bytes; 1: MXFP4 scale bytes in [118, 125]; 2: BF16 pairs of magnitude 2^-8..2^-1.
__global__ void fill_kernel(uint32_t* p, size_t words, uint32_t seed, int kind) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < words; i += static_cast<size_t>(gridDim.x) * blockDim.x) {
    uint32_t h = bench_hash32(i, seed);
    if (kind == 1) h = 0x76767676u + (h & 0x07070707u);
    if (kind == 2) h = (h & 0x807f807fu) | (((120u + (h >> 8 & 7u)) << 7) * 0x10001u);
    p[i] = h;
  }
}

__global__ void fill_floats(float* p, size_t n, uint32_t seed, float scale, float offset) {
  for (size_t i = blockIdx.x * static_cast<size_t>(blockDim.x) + threadIdx.x; i < n; i += static_cast<size_t>(gridDim.x) * blockDim.x)
    p[i] = offset + scale * (static_cast<float>(bench_hash32(i, seed) >> 8) * 0x1p-24f - 0.5f);
}

void fill(uint8_t* p, size_t bytes, uint32_t seed, int kind, cudaStream_t s) {
  fill_kernel<<<1024, 256, 0, s>>>(reinterpret_cast<uint32_t*>(p), bytes / 4, seed, kind);
  CUDA_CHECK_LAUNCH();
}

void fill(float* p, size_t n, uint32_t seed, cudaStream_t s, float scale = 2.0f, float offset = 0.0f) {
  fill_floats<<<1024, 256, 0, s>>>(p, n, seed, scale, offset);
  CUDA_CHECK_LAUNCH();
}

// `experts` matrices [rows, cols] in one format, data and scales on the device.
struct BenchExperts {
  DeviceBuffer<uint8_t> data, scales;
  DeviceExperts view;
  size_t bytes = 0;  // data + scales

  BenchExperts(WeightFormat f, int experts, int rows, int cols, uint32_t seed, cudaStream_t s) {
    const size_t row_bytes = f == WeightFormat::MXFP4 ? cols / 2 : static_cast<size_t>(cols) * 2;
    const size_t srow = f == WeightFormat::MXFP4 ? cols / 32 : 0;
    data = DeviceBuffer<uint8_t>(experts * rows * row_bytes);
    fill(data.get(), data.bytes(), seed, f == WeightFormat::MXFP4 ? 0 : 2, s);
    if (srow) {
      scales = DeviceBuffer<uint8_t>((experts * rows * srow + 3) / 4 * 4);
      fill(scales.get(), scales.bytes(), seed + 1, 1, s);
    }
    view.first = DeviceMatrix{f, rows, cols, data.get(), row_bytes, srow ? scales.get() : nullptr, srow};
    view.experts = experts;
    view.expert_data_stride = rows * row_bytes;
    view.expert_scale_stride = rows * srow;
    bytes = data.bytes() + static_cast<size_t>(experts) * rows * srow;
  }
};

struct ModelShape {
  const char* name;
  int hidden, inter, top_k;
};

// One GPU's experts as a decode step meets them: the per-GPU share of a deployment's experts, a step's
// tokens top-k routed over `touched` of them, routed inside the kernels as the step does (MoeRouting::
// expert_ids). The 32-expert rows above measure the kernels' streaming rate; these measure what a launch
// costs at the step's own small sizes, where the fixed costs (waiting, routing, staging, pipeline fill,
// the K-split sum) weigh as much as the bytes.
struct StepShape {
  const char* name;
  int hidden, inter, experts, top_k;
};

struct StepPattern {
  int tokens, touched;  // touched experts; each gets tokens * top_k / touched pairs
};

// Token t's experts: touched = top_k (every token the same experts), 2 top_k (4 pairs an expert at 8
// tokens) or tokens * top_k (one pair an expert), offset by `base` so that each launch set is new to L2.
std::vector<int32_t> step_expert_ids(const StepPattern& sp, int top_k, int base, int experts) {
  std::vector<int32_t> ids(static_cast<size_t>(sp.tokens) * top_k);
  const int stride = sp.touched == top_k ? 0 : sp.touched == sp.tokens * top_k ? top_k : sp.touched / sp.tokens;
  for (int t = 0; t < sp.tokens; ++t)
    for (int j = 0; j < top_k; ++j) ids[t * top_k + j] = (base + (t * stride + j) % sp.touched) % experts;
  return ids;
}

void bench_moe_step_shapes(cudaStream_t stream, const char* only, std::vector<KernelTiming>& rows, uint32_t& seed) {
  const StepShape shapes[] = {{"MiMo-V2.5-Pro tp slice (1/8 of each expert)", 6144, 256, 384, 8},
                              {"Qwen3-30B-A3B (one GPU)", 2048, 768, 128, 8}};
  const StepPattern patterns[] = {{1, 8}, {8, 16}, {8, 64}};
  const cpu::SwigluParams swiglu{SwigluKind::Standard, 0.0f, 1.0f};
  for (const StepShape& ms : shapes) {
    if (only && !std::string(ms.name).starts_with(only)) continue;
    const int H = ms.hidden, I = ms.inter, E = ms.experts, k = ms.top_k;
    BenchExperts gate(WeightFormat::MXFP4, E, I, H, ++seed, stream), up(WeightFormat::MXFP4, E, I, H, ++seed, stream),
        down(WeightFormat::MXFP4, E, H, I, ++seed, stream);
    const double gate_up_bytes_per_expert = static_cast<double>(gate.bytes + up.bytes) / E;
    const double down_bytes_per_expert = static_cast<double>(down.bytes) / E;
    for (const StepPattern& sp : patterns) {
      const int pairs_n = sp.tokens * k;
      // Launch r routes to experts [r * touched, (r + 1) * touched) (mod E): every launch set is new to L2
      // until the sets come round again, after E / touched launches of at least 8 MB each.
      const int sets = std::max(1, E / sp.touched);
      std::vector<DeviceBuffer<int32_t>> ids;
      for (int r = 0; r < sets; ++r) {
        ids.emplace_back(pairs_n);
        ids.back().upload(step_expert_ids(sp, k, r * sp.touched, E));
      }
      DeviceBuffer<float> x(static_cast<size_t>(sp.tokens) * H), act(static_cast<size_t>(pairs_n) * I),
          out(static_cast<size_t>(pairs_n) * H), w(pairs_n);
      fill(x.get(), x.size(), ++seed, stream);
      fill(act.get(), act.size(), ++seed, stream);
      fill(w.get(), w.size(), ++seed, stream, 0.5f, 0.25f);
      DeviceBuffer<int32_t> offsets(E + 1), pairs(pairs_n), count(1), active(E);
      MoeRouting routing{offsets.get(), pairs.get(), count.get(), active.get(), E, 0, pairs_n};
      CUDA_REQUIRE(moe_routes_in_kernel(sp.tokens, k, routing, x.get(), gate.view, up.view, act.get(), down.view),
                   "bench moe: the step shapes must route in-kernel, as the step does");
      const std::string shape = "H=" + std::to_string(H) + " I=" + std::to_string(I) + ", " + std::to_string(sp.tokens) +
                                " tok x top-" + std::to_string(k) + " over " + std::to_string(sp.touched) + " experts";
      auto route = [&](int r) {
        MoeRouting rr = routing;
        rr.expert_ids = ids[r].get();
        return rr;
      };
      KernelTiming gu{"moe_gate_up mxfp4 (step)", ms.name, shape};
      gu.bytes = gate_up_bytes_per_expert * sp.touched + 4.0 * sp.tokens * H + 4.0 * pairs_n * I;
      gu.median_us = graph_time_us(stream, sets, [&](cudaStream_t s) {
        for (int r = 0; r < sets; ++r)
          moe_gate_up(x.get(), sp.tokens, k, route(r), gate.view, up.view, nullptr, nullptr, swiglu, act.get(), s);
      });
      rows.push_back(gu);
      KernelTiming dn{"moe_down mxfp4 (step)", ms.name, shape};
      dn.bytes = down_bytes_per_expert * sp.touched + 4.0 * pairs_n * I + 4.0 * pairs_n * H + 4.0 * pairs_n;
      dn.median_us = graph_time_us(stream, sets, [&](cudaStream_t s) {
        for (int r = 0; r < sets; ++r)
          moe_down(act.get(), sp.tokens, k, route(r), down.view, nullptr, 1.0f, w.get(), out.get(), s);
      });
      rows.push_back(dn);
    }
  }
}

}  // namespace

std::vector<KernelTiming> bench_moe_kernels(cudaStream_t stream) {
  constexpr int kActive = 32;                        // active experts, each touched once per launch
  constexpr size_t kRotateBytes = size_t(320) << 20;  // weights streamed between reuses: several L2s
  const ModelShape shapes[] = {{"MiMo-V2.5-Pro", 6144, 2048, 8}, {"Qwen3-235B-A22B", 4096, 1536, 8}, {"gpt-oss-120b", 2880, 2880, 4}};
  const int tokens_per_expert[] = {1, 2, 4, 8, 16};
  std::vector<KernelTiming> rows;
  uint32_t seed = 1;
  const char* only = std::getenv("TACHYON_MOE_BENCH_ONLY");  // e.g. "gpt-oss": the shapes whose name contains it
  for (const ModelShape& ms : shapes) {
    if (only && !std::string(ms.name).starts_with(only)) continue;
    const int H = ms.hidden, I = ms.inter, k = ms.top_k;
    const int max_pairs = kActive * 16;
    DeviceBuffer<float> x(static_cast<size_t>(max_pairs / k) * H), act(static_cast<size_t>(max_pairs) * I),
        out(static_cast<size_t>(max_pairs) * H), w(max_pairs);
    fill(x.get(), x.size(), ++seed, stream);
    fill(act.get(), act.size(), ++seed, stream);
    fill(w.get(), w.size(), ++seed, stream, 0.5f, 0.25f);
    DeviceBuffer<int32_t> ids(max_pairs), offsets(kActive + 1), pairs(max_pairs), count(1), active(kActive);
    MoeRouting routing{offsets.get(), pairs.get(), count.get(), active.get(), kActive, 0, max_pairs};
    const cpu::SwigluParams swiglu{SwigluKind::Standard, 0.0f, 1.0f};

    for (WeightFormat f : {WeightFormat::MXFP4, WeightFormat::BF16}) {
      const char* fname = f == WeightFormat::MXFP4 ? "mxfp4" : "bf16";
      // gate, up and down of kActive experts, in as many copies as it takes to defeat L2.
      std::vector<BenchExperts> gate, up, down;
      const size_t set_bytes = 3 * static_cast<size_t>(kActive) * H * I * (f == WeightFormat::MXFP4 ? 17 : 64) / 32;
      const int sets = static_cast<int>(std::clamp<size_t>((kRotateBytes + set_bytes - 1) / set_bytes, 1, 4));
      for (int s = 0; s < sets; ++s) {
        gate.emplace_back(f, kActive, I, H, ++seed, stream);
        up.emplace_back(f, kActive, I, H, ++seed, stream);
        down.emplace_back(f, kActive, H, I, ++seed, stream);
      }
      const int reps = std::max(sets, 4);
      for (int tpe : tokens_per_expert) {
        const int pairs_n = kActive * tpe, m = pairs_n / k;
        std::vector<int32_t> h_ids(pairs_n);
        for (int i = 0; i < pairs_n; ++i) h_ids[i] = i % kActive;  // distinct experts within a token (k <= 32)
        ids.upload(h_ids);
        moe_align(ids.get(), m, k, routing, stream);
        const std::string shape = "H=" + std::to_string(H) + " I=" + std::to_string(I) + ", " + std::to_string(kActive) +
                                  " experts x " + std::to_string(tpe) + " tok";
        KernelTiming gu{std::string("moe_gate_up ") + fname, ms.name, shape};
        gu.bytes = static_cast<double>(gate[0].bytes + up[0].bytes) + 4.0 * m * H + 4.0 * pairs_n * I;
        gu.median_us = median_time_us(
                           [&](cudaStream_t s) {
                             for (int r = 0; r < reps; ++r)
                               moe_gate_up(x.get(), m, k, routing, gate[r % sets].view, up[r % sets].view, nullptr,
                                           nullptr, swiglu, act.get(), s);
                           },
                           stream, 2, 15) / reps;
        rows.push_back(gu);
        KernelTiming dn{std::string("moe_down ") + fname, ms.name, shape};
        dn.bytes = static_cast<double>(down[0].bytes) + 4.0 * pairs_n * I + 4.0 * pairs_n * H + 4.0 * pairs_n;
        dn.median_us = median_time_us(
                           [&](cudaStream_t s) {
                             for (int r = 0; r < reps; ++r)
                               moe_down(act.get(), m, k, routing, down[r % sets].view, nullptr, 1.0f, w.get(), out.get(), s);
                           },
                           stream, 2, 15) / reps;
        rows.push_back(dn);
      }
    }
  }
  bench_moe_step_shapes(stream, only, rows, seed);
  return rows;
}

}  // namespace tachyon::cuda
